"""The simulator's stand-in pages behind its services' NiFi and Registry links (demo only)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from django.core.management import CommandError, call_command

from console.simulator import seed
from console.simulator.server import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, start_in_thread
from tests.simulator.helpers import Api
from tests.simulator.test_command import free_port

CONSOLE_URL = "http://127.0.0.1:8000/"


@pytest.fixture
def demo_simulator(tmp_path: Path) -> Iterator[tuple[str, Api]]:
    """A simulator started as `make run` starts it: with a public URL and the console's URL."""
    port = free_port()
    running = start_in_thread(
        state_path=tmp_path / "state.json",
        port=port,
        public_url=f"http://127.0.0.1:{port}",
        console_url=CONSOLE_URL,
    )
    api = Api(running.url, access_key=DEMO_ACCESS_KEY, secret_key=DEMO_SECRET_KEY)
    yield running.url, api
    api.session.close()
    running.stop()


def detail(api: Api, service_id: str) -> dict:
    """The service's signed API detail."""
    return api.get(f"/v1/data-flow-services/{service_id}").json()


def test_links_lead_to_the_simulators_own_pages_with_a_public_url(demo_simulator) -> None:
    url, api = demo_simulator

    body = detail(api, seed.SALES_ETL_ID)

    assert body["web_url_nifi"] == f"{url}/ui/{seed.SALES_ETL_ID}/nifi/"
    assert body["web_url_registry"] == f"{url}/ui/{seed.SALES_ETL_ID}/nifi-registry/"


def test_nifi_page_names_the_service_version_and_replicas(demo_simulator) -> None:
    _, api = demo_simulator

    page = requests.get(detail(api, seed.SALES_ETL_ID)["web_url_nifi"], timeout=10)

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert "SCP simulator's stand-in for NiFi of service sales-etl" in page.text
    assert "version 1.27.1, 2 replicas" in page.text
    assert "a real SCP service opens the NiFi UI here" in page.text
    assert f'href="{CONSOLE_URL}"' in page.text


def test_registry_page_shows_the_registry_workload(demo_simulator) -> None:
    _, api = demo_simulator

    page = requests.get(detail(api, seed.ML_FEATURES_ID)["web_url_registry"], timeout=10)

    assert page.status_code == 200
    assert "stand-in for NiFi Registry of service ml-features" in page.text
    assert "version 1.25.0, 1 replica," in page.text


def test_page_never_shows_the_nifi_password(demo_simulator) -> None:
    url, _ = demo_simulator

    for component in ("nifi", "nifi-registry"):
        page = requests.get(f"{url}/ui/{seed.SALES_ETL_ID}/{component}/", timeout=10)
        assert seed.DEMO_PASSWORDS["salesadmin"] not in page.text
        assert "salesadmin" not in page.text


def test_unknown_service_or_component_answers_404(demo_simulator) -> None:
    url, _ = demo_simulator

    assert requests.get(f"{url}/ui/no-such-id/nifi/", timeout=10).status_code == 404
    assert requests.get(f"{url}/ui/{seed.SALES_ETL_ID}/zookeeper/", timeout=10).status_code == 404
    assert requests.get(f"{url}/ui/{seed.SALES_ETL_ID}/", timeout=10).status_code == 404
    assert requests.post(f"{url}/ui/{seed.SALES_ETL_ID}/nifi/", timeout=10).status_code == 404


def test_page_escapes_the_service_name(demo_simulator) -> None:
    url, api = demo_simulator
    control = api.session.post(
        f"{url}/_simulator/services",
        json={"data_flow_service_id": "x-1", "data_flow_service_name": "<script>alert(1)</script>"},
        timeout=10,
    )
    assert control.status_code in (200, 201), control.text

    page = requests.get(f"{url}/ui/x-1/nifi/", timeout=10)

    assert page.status_code == 200
    assert "<script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_links_keep_scps_documented_shape_without_a_public_url(api: Api) -> None:
    body = detail(api, seed.SALES_ETL_ID)

    assert body["web_url_nifi"] == "https://sales-etl.sales.dataflow.test/nifi/"


def test_command_refuses_a_public_url_that_is_not_http() -> None:
    with pytest.raises(CommandError, match="--public-url"):
        call_command("scp_simulator", public_url="javascript:alert(1)")
    with pytest.raises(CommandError, match="--console-url"):
        call_command("scp_simulator", console_url="ftp://127.0.0.1/")
