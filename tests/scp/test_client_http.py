"""The client over real HTTP against the SCP simulator: signing, paging, retries, every error."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from console.scp import (
    ScpBadCredentials,
    ScpClient,
    ScpInvalidInput,
    ScpNotEnabled,
    ScpNotFound,
    ScpThrottled,
    ScpUnavailable,
    ScpVersionNotSupported,
    Workload,
    Workloads,
    build_update_body,
)

NEW_PASSWORD = "N3w!Passw0rd#2026"


@pytest.fixture
def sim(scp_simulator: Any) -> Iterator[Any]:
    """The simulator with no faults and an empty request log, left without faults."""
    scp_simulator.clear_faults()
    scp_simulator.clear_requests()
    yield scp_simulator
    scp_simulator.clear_faults()


def client_for(sim: Any, **options: Any) -> ScpClient:
    """A client of the simulator with its demo keys and quick retries."""
    settings: dict[str, Any] = {
        "base_url": sim.url,
        "access_key": sim.access_key,
        "secret_key": sim.secret_key,
        "backoff_seconds": 0.05,
    }
    settings.update(options)
    return ScpClient(**settings)


def api_requests(sim: Any) -> list[dict[str, Any]]:
    """The recorded calls of the API itself, oldest first."""
    return [r for r in sim.requests() if r["path"].startswith("/v1/")]


def fresh_service(sim: Any, **fields: Any) -> str:
    """The id of a new RUNNING service, so that a test owns what it changes."""
    fields.setdefault("data_flow_service_name", f"test-{uuid.uuid4().hex[:8]}")
    return sim.add_service(**fields)["data_flow_service_id"]


def test_list_over_http_reads_the_seeded_services(sim: Any) -> None:
    services = client_for(sim).list_services()
    assert {s.id for s in services} >= {s["data_flow_service_id"] for s in sim.services()}
    assert all(s.state == s.state.upper() and s.name for s in services)


def test_list_reads_every_page_when_the_server_ignores_size(sim: Any) -> None:
    while len(sim.services()) < 45:
        fresh_service(sim)
    expected = {s["data_flow_service_id"] for s in sim.services()}
    sim.fault(ignore_size=True)
    sim.clear_requests()
    services = client_for(sim).list_services(page_size=20)
    assert len(services) == len(expected)
    assert {s.id for s in services} == expected
    pages = [r["query"]["page"] for r in api_requests(sim)]
    assert pages == [str(n) for n in range(-(-len(expected) // 10))]
    assert all(r["verdict"] == "ok" for r in api_requests(sim))


def test_list_stops_on_a_short_page_when_scp_names_no_total(sim: Any) -> None:
    while len(sim.services()) < 45:
        fresh_service(sim)
    sim.fault(list_total="none")
    sim.clear_requests()
    services = client_for(sim).list_services(page_size=20)
    assert len(services) == len(sim.services())
    # A short page ends the list (an empty one when the count is a multiple of 20).
    assert len(api_requests(sim)) == len(services) // 20 + 1


def test_korean_name_filter_reaches_the_simulator_signed_correctly(sim: Any) -> None:
    service_id = fresh_service(sim, data_flow_service_name=f"한글-수집-{uuid.uuid4().hex[:6]}")
    services = client_for(sim).list_services(data_flow_service_name="한글-수집")
    assert service_id in {s.id for s in services}
    (recorded,) = api_requests(sim)
    assert recorded["verdict"] == "ok"
    assert "%ED%95%9C%EA%B8%80" in recorded["url"]
    assert "%25" not in recorded["url"]
    assert recorded["query"]["data_flow_service_name"] == "한글-수집"


def test_get_service_parses_the_detail_over_http(sim: Any) -> None:
    service_id = fresh_service(sim)
    detail = client_for(sim).get_service(service_id)
    assert detail.id == service_id
    assert detail.is_state("running")
    assert detail.config.workloads is not None
    assert isinstance(detail.http_port, int)
    assert detail.created_dt is not None


def test_a_get_is_retried_after_one_503_and_signed_afresh(sim: Any) -> None:
    service_id = fresh_service(sim)
    sim.clear_requests()
    sim.fault(fail_next=1)
    assert client_for(sim).get_service(service_id).id == service_id
    first, second = api_requests(sim)
    assert (first["status"], second["status"]) == (503, 200)
    assert second["verdict"] == "ok"
    assert first["headers"]["Scp-Timestamp"] != second["headers"]["Scp-Timestamp"]
    assert first["headers"]["Scp-Signature"] != second["headers"]["Scp-Signature"]


def test_a_wrong_secret_is_bad_credentials(sim: Any) -> None:
    client = client_for(sim, secret_key="NOT-THE-SECRET-KEY")
    with pytest.raises(ScpBadCredentials) as caught:
        client.list_services()
    assert caught.value.code == "HmacValidFail"
    assert caught.value.global_request_id.startswith("req-")
    assert len(api_requests(sim)) == 1


def test_a_key_without_data_flow_is_not_enabled(sim: Any) -> None:
    client = client_for(
        sim, access_key="DEMOACCESSKEY0NOTENABLED", secret_key="DEMOSECRETKEY0NOTENABLED"
    )
    with pytest.raises(ScpNotEnabled):
        client.list_services()


def test_an_unknown_api_version_is_not_supported(sim: Any) -> None:
    with pytest.raises(ScpVersionNotSupported) as caught:
        client_for(sim, api_version="data-flow 9.9").list_services()
    assert caught.value.code == "NoSuchVersion"
    assert caught.value.status == 406


@pytest.mark.parametrize("api_version", ["data-flow 1.0", "data-flow 1.1"])
def test_documented_api_versions_are_accepted(sim: Any, api_version: str) -> None:
    assert client_for(sim, api_version=api_version).list_services(page_size=100)


@pytest.mark.parametrize("service_id", ["0123456789abcdef0123456789abcdef", "not-an-id"])
def test_an_unknown_or_malformed_id_is_refused_in_scp_words(sim: Any, service_id: str) -> None:
    client = client_for(sim)
    for call in (
        lambda: client.get_service(service_id),
        lambda: client.update_service(service_id, {"description": "x"}),
        lambda: client.validate_resources(service_id, _workloads()),
    ):
        with pytest.raises(ScpInvalidInput) as caught:
            call()
        assert caught.value.message.startswith("SCP refused the request for this service (")
        assert caught.value.code == "ValidationError"
        assert caught.value.detail in caught.value.message
    # A permanent error: one request each, no retries.
    assert len(api_requests(sim)) == 3


def test_an_unknown_data_flow_has_no_sub_versions(sim: Any) -> None:
    with pytest.raises(ScpInvalidInput, match="SCP refused the request for this service"):
        client_for(sim).sub_versions("0123456789abcdef0123456789abcdef")


def test_an_invalid_put_body_is_invalid_input_with_every_detail(sim: Any) -> None:
    service_id = fresh_service(sim)
    sim.clear_requests()
    body = {"description": "x" * 151, "domain": "Bad_Domain"}
    with pytest.raises(ScpInvalidInput) as caught:
        client_for(sim).update_service(service_id, body)
    error = caught.value
    assert error.code == "ValidationError"
    assert len(error.details) == 2
    assert any(d.startswith("description") for d in error.details)
    assert any(d.startswith("domain") for d in error.details)
    assert len(api_requests(sim)) == 1


def test_a_weak_password_is_refused_without_showing_it(sim: Any) -> None:
    service_id = fresh_service(sim)
    body = {"account": {"account_password": "weakpassword"}}
    with pytest.raises(ScpInvalidInput) as caught:
        client_for(sim).update_service(service_id, body)
    assert "weakpassword" not in json.dumps(caught.value.to_dict())
    assert "weakpassword" not in caught.value.raw_text


def test_503_on_every_attempt_is_unavailable_after_the_retries(sim: Any) -> None:
    sim.fault(fail_next=5)
    with pytest.raises(ScpUnavailable) as caught:
        client_for(sim, max_attempts=3).list_services()
    assert caught.value.status == 503
    assert not caught.value.permanent
    recorded = api_requests(sim)
    assert len(recorded) == 3
    assert len({r["headers"]["Scp-Signature"] for r in recorded}) == 3


def test_a_500_is_unavailable_with_scp_s_contact_admin_code(sim: Any) -> None:
    sim.fault(fail_next=5, fail_status=500)
    with pytest.raises(ScpUnavailable) as caught:
        client_for(sim, max_attempts=2).list_services()
    assert caught.value.code == "ContactAdminForAssistance"
    assert caught.value.global_request_id.startswith("req-")


@pytest.mark.parametrize("status", [502, 504])
def test_gateway_failures_are_unavailable(sim: Any, status: int) -> None:
    sim.fault(fail_next=1, fail_status=status)
    with pytest.raises(ScpUnavailable) as caught:
        client_for(sim, max_attempts=1).list_services()
    assert caught.value.status == status


def test_a_throttled_read_waits_as_asked_and_then_succeeds(sim: Any) -> None:
    sim.fault(fail_next=1, fail_status=429)  # the simulator sends Retry-After: 1
    sleeps: list[float] = []
    client = client_for(sim, max_attempts=1, sleep=sleeps.append)
    assert client.list_services()
    assert sleeps == [1.0]
    assert [r["status"] for r in api_requests(sim)][:2] == [429, 200]


def test_a_retry_after_longer_than_a_call_affords_is_raised_for_the_caller(sim: Any) -> None:
    sim.fault(fail_next=1, fail_status=429, retry_after=120)
    with pytest.raises(ScpThrottled) as caught:
        client_for(sim).list_services()
    assert caught.value.retry_after == 120.0
    assert len(api_requests(sim)) == 1


def test_a_throttled_put_is_never_repeated_within_the_call(sim: Any) -> None:
    service_id = fresh_service(sim)
    sim.clear_requests()
    sim.fault(fail_next=1, fail_status=429)
    with pytest.raises(ScpThrottled):
        client_for(sim).update_service(service_id, {"description": "once"})
    assert len(api_requests(sim)) == 1


def test_a_put_is_never_retried_over_http(sim: Any) -> None:
    service_id = fresh_service(sim)
    sim.clear_requests()
    sim.fault(fail_next=1)
    with pytest.raises(ScpUnavailable):
        client_for(sim).update_service(service_id, {"description": "once"})
    assert len(api_requests(sim)) == 1
    assert client_for(sim).get_service(service_id).is_state("RUNNING")


def test_a_hang_longer_than_the_read_timeout_is_unavailable(sim: Any) -> None:
    sim.fault(hang=3)
    started = time.monotonic()
    with pytest.raises(ScpUnavailable, match="did not answer in time"):
        client_for(sim, read_timeout=0.3, max_attempts=1).list_services()
    assert time.monotonic() - started < 2.5


def test_a_hang_then_an_answer_succeeds_on_the_retry(sim: Any) -> None:
    sim.fault(hang=2, hang_next=1)
    services = client_for(sim, read_timeout=0.5, max_attempts=2).list_services()
    assert services


def test_a_base_url_with_a_wrong_path_gets_the_gateway_404(sim: Any) -> None:
    with pytest.raises(ScpNotFound, match="base URL may be wrong") as caught:
        client_for(sim, base_url=sim.url + "/wrong-prefix").list_services()
    assert caught.value.code == "Not Found"
    assert caught.value.global_request_id


class _UnsignedSession(requests.Session):
    """A session that drops the authentication headers, like a proxy stripping them."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        """Send without the Scp-* authentication headers."""
        for name in ("Scp-Accesskey", "Scp-Signature", "Scp-Timestamp"):
            request.headers.pop(name, None)
        return super().send(request, **kwargs)


def test_a_call_without_auth_headers_gets_the_gateway_404(sim: Any) -> None:
    client = client_for(sim, session=_UnsignedSession())
    with pytest.raises(ScpNotFound, match="unsigned"):
        client.list_services()
    assert api_requests(sim)[0]["verdict"] == "missing auth headers"


def test_update_is_accepted_as_updating_without_the_password_in_raw(sim: Any) -> None:
    service_id = fresh_service(sim)
    client = client_for(sim)
    current = client.get_service(service_id)
    body = build_update_body(current.config, account_password=NEW_PASSWORD)
    sim.clear_requests()
    detail = client.update_service(service_id, body)
    assert detail.id == service_id
    assert detail.state == "UPDATING"
    assert detail.is_state("updating")
    assert detail.config.workloads is None  # the 202 carries service_workload ""
    assert NEW_PASSWORD not in json.dumps(detail.raw)
    assert NEW_PASSWORD not in repr(detail)
    (recorded,) = api_requests(sim)
    assert (recorded["method"], recorded["status"], recorded["verdict"]) == ("PUT", 202, "ok")
    assert recorded["body"] == body


def test_a_second_put_while_updating_is_invalid_input_not_not_found(sim: Any) -> None:
    service_id = fresh_service(sim)
    sim.fault(service_id=service_id, update_delay=60)
    client = client_for(sim)
    client.update_service(service_id, {"description": "first"})
    with pytest.raises(ScpInvalidInput):
        client.update_service(service_id, {"description": "second"})


def test_validate_resources_reads_scps_documented_answer_as_no_verdict(sim: Any) -> None:
    service_id = fresh_service(sim)
    client = client_for(sim)
    current = client.get_service(service_id).config.workloads
    assert current is not None

    check = client.validate_resources(service_id, current)

    assert (check.verdict, check.ok) == ("none", True)  # no verdict is not a "no"
    assert (check.cpu, check.memory) == ("CPU", "Memory")  # labels, kept as text


def test_validate_resources_says_whether_the_workloads_fit(sim: Any) -> None:
    service_id = fresh_service(sim)
    client = client_for(sim)
    sim.fault(service_id=service_id, precheck="capacity")  # the simulator's guessed arithmetic
    current = client.get_service(service_id).config.workloads
    assert current is not None
    assert client.validate_resources(service_id, current).ok is True
    huge = Workloads(
        nifi=Workload(64000, 262144, 10, current.nifi.version),
        nifi_registry=current.nifi_registry,
        zookeeper=current.zookeeper,
    )
    check = client.validate_resources(service_id, huge)
    assert check.ok is False
    assert check.err_code
    assert check.cpu and check.memory


def test_sub_versions_lists_what_the_data_flow_offers(sim: Any) -> None:
    service_id = fresh_service(sim)
    client = client_for(sim)
    detail = client.get_service(service_id)
    versions = client.sub_versions(detail.data_flow_id)
    assert versions.nifi and versions.nifi_registry and versions.zookeeper
    assert versions.service_count >= 1


def test_no_secret_reaches_the_log_over_http(sim: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    service_id = fresh_service(sim)
    client = client_for(sim)
    body = build_update_body(client.get_service(service_id).config, account_password=NEW_PASSWORD)
    client.update_service(service_id, body)
    with pytest.raises(ScpBadCredentials):
        client_for(sim, secret_key="WRONG-SECRET-KEY-1").list_services()
    scp_lines = "\n".join(r.getMessage() for r in caplog.records if r.name == "console.scp")
    assert "PUT /v1/data-flow-services/" in scp_lines
    for text in (scp_lines, repr(client)):
        assert sim.secret_key not in text
        assert NEW_PASSWORD not in text
        assert "WRONG-SECRET-KEY-1" not in text


def _workloads() -> Workloads:
    return Workloads(
        nifi=Workload(2000, 4096, 1, "1.27.1"),
        nifi_registry=Workload(500, 1024, 1, "1.27.1"),
        zookeeper=Workload(500, 1024, 3, "3.9.2"),
    )
