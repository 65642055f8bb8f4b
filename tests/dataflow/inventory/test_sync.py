"""Import and refresh of services from SCP: the command, the revisions, the Refresh button."""

from __future__ import annotations

import dataclasses
import io
import json
import time

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from console.dataflow.connections.clients import scp_client_for
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ConfigRevision, Service, SyncRun
from console.dataflow.tasks import services_sync_task
from console.scp import build_update_body
from console.simulator.seed import DEMO_PASSWORDS, SALES_ETL_ID
from tests.dataflow.pages import page_text

pytestmark = pytest.mark.django_db
DEMO_NAMES = {"sales-etl", "iot-ingest", "finance-batch", "log-archive", "ml-features"}
LIST = reverse("dataflow:service-list")


def sync_command(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("sync_services", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def by_name() -> dict[str, Service]:
    return {s.name: s for s in Service.objects.all()}


def revisions() -> dict[str, int]:
    return {s.name: s.config_revision for s in Service.objects.all()}


def wait_until_running(scp, service_id: str) -> None:
    deadline = time.monotonic() + 10
    while scp.service(service_id)["state"] != "RUNNING":
        assert time.monotonic() < deadline, scp.service(service_id)
        time.sleep(0.05)


def test_sync_services_imports_the_five_demo_services(scp):
    out, _ = sync_command()

    assert "Synced 5 service(s) from 1 connection(s); 5 new or changed." in out
    services = by_name()
    assert set(services) == DEMO_NAMES
    assert {n: s.state for n, s in services.items()} == {
        "sales-etl": "RUNNING",
        "iot-ingest": "RUNNING",
        "finance-batch": "ERROR",
        "log-archive": "STOPPED",
        "ml-features": "RUNNING",
    }
    assert services["finance-batch"].cluster_request_failed is True
    sales = services["sales-etl"]
    assert sales.scp_id == SALES_ETL_ID
    assert sales.connection_name == "default"
    assert sales.data_flow_name == "dataflow-prod"
    assert sales.cluster_name == "k8s-prod-01"
    assert sales.config["workloads"] == {
        "nifi": {"cpu": 4000, "memory": 8192, "replica": 2, "version": "1.27.1"},
        "nifi_registry": {"cpu": 1000, "memory": 2048, "replica": 1, "version": "1.27.1"},
        "zookeeper": {"cpu": 1000, "memory": 2048, "replica": 3, "version": "3.9.2"},
    }
    assert sales.config["host_alias_enabled"] is True
    assert sales.config["host_aliases"][0] == {
        "hostname": "erp-db.corp.internal",
        "ip": "10.10.1.21",
    }
    assert sales.config["domain"] == "sales"
    assert len(services["iot-ingest"].config["host_aliases"]) == 20
    assert {"hostname": "schema-registry.stream.internal", "ip": "fd00:20::1:5"} in services[
        "iot-ingest"
    ].config["host_aliases"]
    for service in services.values():
        assert service.web_url_nifi.startswith("http"), service.name
        assert service.web_url_registry.startswith("http"), service.name
        assert service.config_revision == 1
        assert service.synced_at is not None
        assert service.scp_created_at is not None
        stored = json.dumps(service.config)
        assert "account_password" not in stored
        assert not any(p in stored for p in DEMO_PASSWORDS.values())
    assert sales.offered_versions == {
        "nifi": ["1.27.1"],
        "nifi_registry": ["1.27.1"],
        "zookeeper": ["3.9.2"],
    }
    features = services["ml-features"]
    assert features.config["workloads"]["nifi"]["version"] == "1.25.0"
    assert features.offered_versions["nifi"] == ["1.27.1"]
    assert ConfigRevision.objects.count() == 5
    for revision in ConfigRevision.objects.select_related("service"):
        assert revision.revision == 1
        assert revision.config == revision.service.config
    [run] = SyncRun.objects.all()
    assert (run.services_seen, run.services_changed, run.errors) == (5, 5, [])
    assert run.finished_at is not None


def test_a_second_run_changes_nothing(scp):
    sync_command()
    first = {s.name: (s.config_revision, s.config) for s in Service.objects.all()}

    out, _ = sync_command()

    assert "5 new or changed" not in out
    assert "0 new or changed." in out
    assert {s.name: (s.config_revision, s.config) for s in Service.objects.all()} == first
    assert ConfigRevision.objects.count() == 5
    assert Service.objects.count() == 5
    assert SyncRun.objects.first().services_changed == 0


def test_a_config_changed_in_scp_bumps_the_revision_and_keeps_the_new_one(scp):
    sync_command()
    client = scp_client_for("default")
    detail = client.get_service(SALES_ETL_ID)
    edited = dataclasses.replace(detail.config, description="changed in the SCP console")
    client.update_service(SALES_ETL_ID, build_update_body(edited))
    wait_until_running(scp, SALES_ETL_ID)

    out, _ = sync_command()

    assert "1 new or changed." in out
    sales = Service.objects.get(name="sales-etl")
    assert sales.config_revision == 2
    assert sales.config["description"] == "changed in the SCP console"
    newest = ConfigRevision.objects.get(service=sales, revision=2)
    assert newest.config == sales.config
    assert ConfigRevision.objects.get(service=sales, revision=1).config["description"] == (
        "매출 주문 데이터 ETL (ERP → DWH)"
    )
    assert {n: r for n, r in revisions().items() if n != "sales-etl"} == dict.fromkeys(
        DEMO_NAMES - {"sales-etl"}, 1
    )


def test_a_state_change_alone_is_stored_without_a_new_revision(scp):
    sync_command()
    archive = Service.objects.get(name="log-archive")
    scp.set_state(archive.scp_id, "RUNNING")

    out, _ = sync_command()

    archive.refresh_from_db()
    assert archive.state == "RUNNING"
    assert archive.config_revision == 1
    assert ConfigRevision.objects.count() == 5
    assert "0 new or changed." in out


def test_a_service_created_in_scp_is_imported_on_the_next_run(scp):
    sync_command()
    scp.add_service(
        data_flow_service_name="orders-stream",
        domain="orders",
        host_alias={
            "enabled": "true",
            "host_alias_list": [{"hostname": "oms.corp.internal", "ip": "10.40.0.7"}],
        },
    )

    out, _ = sync_command()

    assert "Synced 6 service(s)" in out
    assert "1 new or changed." in out
    orders = Service.objects.get(name="orders-stream")
    assert orders.config_revision == 1
    assert orders.config["domain"] == "orders"
    assert orders.config["host_aliases"] == [{"hostname": "oms.corp.internal", "ip": "10.40.0.7"}]
    assert ConfigRevision.objects.filter(service=orders).count() == 1


def test_a_wrong_secret_is_recorded_as_a_sentence_and_the_command_fails_cleanly(scp, settings):
    settings.SCP_SECRET_KEY = "wrong"
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match="could not be synced"):
        call_command("sync_services", stdout=out, stderr=err)

    [run] = SyncRun.objects.all()
    [error] = run.errors
    assert error.startswith("default: SCP refused the request signature")
    assert "check the access key and secret key" in error
    assert run.finished_at is not None
    assert (run.services_seen, run.services_changed) == (0, 0)
    assert error in err.getvalue()
    assert "wrong" not in error
    assert not Service.objects.exists()


def test_quiet_reports_the_failure_but_exits_cleanly(scp, settings):
    settings.SCP_SECRET_KEY = "wrong"

    _, err = sync_command("--quiet")

    assert "default: SCP refused the request signature" in err


def test_scp_out_of_reach_is_recorded_as_a_sentence(scp):
    scp.fault(fail_next=10, fail_status=503)

    with pytest.raises(CommandError):
        sync_command()

    [error] = SyncRun.objects.get().errors
    assert error.startswith("default: ")
    assert "unavailable" in error.lower() or "try again" in error.lower()


def test_a_connection_without_keys_is_explained(scp, settings):
    settings.SCP_ACCESS_KEY = ""

    run = services_sync()

    assert run.errors == [
        "default: The default SCP connection has no keys: set SCP_ACCESS_KEY and SCP_SECRET_KEY."
    ]


# --- "Refresh from SCP" -------------------------------------------------------------------


@pytest.fixture
def dispatched(monkeypatch):
    """Celery dispatches of the sync, recorded instead of sent."""
    sent: list[tuple[str, list]] = []

    def record(name, args=None, **options):
        sent.append((name, list(args or [])))

    monkeypatch.setattr("celery.current_app.send_task", record)
    return sent


def test_refresh_starts_a_sync_run_and_the_list_follows_it(
    client, admin_user, scp, dispatched, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("dataflow:sync-request"))

    assert response.status_code == 302
    [run] = SyncRun.objects.all()
    assert run.requested_by == admin_user
    assert run.is_running
    assert dispatched == [("dataflow.services_sync", [run.pk])]
    page = client.get(LIST)
    assert "Refreshing the services from SCP…" in page_text(page)
    assert "Refreshing from SCP (requested" in page_text(page)
    fragment = client.get(LIST, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every' in fragment
    assert "<html" not in fragment

    services_sync_task(run.pk)  # what the worker does with the message

    run.refresh_from_db()
    assert not run.is_running
    page = client.get(LIST)
    text = " ".join(page_text(page).split())
    assert "Last refreshed from SCP" in text
    assert "5 services, 5 changed." in text
    assert page.content.decode().count('data-testid="service-row"') == 5
    assert (
        'hx-trigger="every' not in client.get(LIST, headers={"HX-Request": "true"}).content.decode()
    )


def test_a_second_refresh_while_one_runs_joins_it(
    client, admin_user, scp, dispatched, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataflow:sync-request"))
        client.post(reverse("dataflow:sync-request"))

    assert SyncRun.objects.count() == 1
    assert len(dispatched) == 1


def test_a_refresh_that_fails_shows_why_on_the_list(
    client, admin_user, support_user, scp, settings, dispatched, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    settings.SCP_SECRET_KEY = "wrong"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataflow:sync-request"))

    services_sync_task(SyncRun.objects.get().pk)
    client.force_login(support_user)  # everyone sees why, though only admins may refresh

    text = " ".join(page_text(client.get(LIST)).split())
    assert "failed: default: SCP refused the request signature" in text


def test_a_refresh_with_the_task_queue_down_says_so(
    client, admin_user, scp, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("broker unreachable")

    monkeypatch.setattr("celery.current_app.send_task", broker_down)
    client.force_login(admin_user)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("dataflow:sync-request"))

    [run] = SyncRun.objects.all()
    assert not run.is_running
    assert run.errors == ["The task queue is unreachable; try again when the workers are back."]
    assert "The task queue is unreachable" in page_text(client.get(LIST))


def test_a_finished_run_is_not_run_again_by_a_late_message(scp):
    run = services_sync()
    finished = run.finished_at

    services_sync_task(run.pk)

    run.refresh_from_db()
    assert run.finished_at == finished
    assert SyncRun.objects.count() == 1
