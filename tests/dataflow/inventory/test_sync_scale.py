"""A sync at scale: overlapping calls, versions once per data flow, connections side by side,
one sync at a time, a scheduled sync, and the task queues."""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from console.dataflow.inventory.sync import (
    SyncAlreadyRunning,
    services_sync,
    services_sync_scheduled,
    sync_run_claim,
)
from console.dataflow.models import ScpConnection, Service, SyncRun
from console.dataflow.tasks import services_sync_task
from console.dataflow.work.dispatch import sync_runs_dispatch

pytestmark = pytest.mark.django_db
LATENCY = 0.25


def _v1_calls(scp) -> list[dict]:
    return [r for r in scp.requests() if r["path"].startswith("/v1/")]


def test_a_sync_overlaps_its_calls(scp, settings):
    for i in range(10):
        scp.add_service(data_flow_service_name=f"extra-{i:02d}")
    scp.fault(latency=LATENCY)
    settings.SCP_SYNC_CONCURRENCY = 8

    started = time.monotonic()
    run = services_sync()
    elapsed = time.monotonic() - started

    assert run.errors == []
    assert run.services_seen == 15
    calls = len(_v1_calls(scp))  # one list page, 15 details, the versions of each data flow
    assert calls >= 16
    # One call after another would take calls x LATENCY; list, details, versions and the
    # version list follow each other, each overlapping its own calls.
    assert elapsed < 0.5 * calls * LATENCY, (elapsed, calls)


def test_versions_on_offer_are_fetched_once_per_data_flow(scp):
    for i in range(6):
        scp.add_service(data_flow_service_name=f"extra-{i:02d}")
    flows = {s["data_flow_id"] for s in scp.services()}

    services_sync()

    asked = Counter(r["path"] for r in _v1_calls(scp) if r["path"].endswith("/sub-versions"))
    assert len(asked) == len(flows)
    assert set(asked.values()) == {1}
    for service in Service.objects.all():
        assert service.offered_versions["nifi"], service.name


def test_every_page_is_read_when_there_are_many(scp, settings):
    for i in range(45):  # 50 services: three pages of 20
        scp.add_service(data_flow_service_name=f"many-{i:02d}")

    run = services_sync()

    assert run.services_seen == 50
    pages = sorted(
        int(r["query"]["page"]) for r in _v1_calls(scp) if r["path"] == "/v1/data-flow-services"
    )
    assert pages == [0, 1, 2]
    assert Service.objects.filter(gone_at__isnull=True).count() == 50


def test_a_list_that_ignores_size_is_still_read_whole(scp):
    for i in range(45):
        scp.add_service(data_flow_service_name=f"many-{i:02d}")
    scp.fault(ignore_size=True)

    run = services_sync()

    assert run.errors == []
    assert Service.objects.filter(gone_at__isnull=True).count() == 50


@pytest.mark.parametrize("total", ["count", "none"])
def test_a_list_whose_total_is_count_or_missing_is_read_whole(scp, total):
    for i in range(45):
        scp.add_service(data_flow_service_name=f"many-{i:02d}")
    scp.fault(list_total=total)

    run = services_sync()

    assert run.errors == []
    assert run.services_listed == 50
    assert Service.objects.filter(gone_at__isnull=True).count() == 50
    pages = [r for r in _v1_calls(scp) if r["path"] == "/v1/data-flow-services"]
    # Without a total the short third page ends the list: no empty fourth page is asked for.
    assert len(pages) == 3


def _second_connection(scp, name: str, *, secret: str, url: str | None = None) -> None:
    row = ScpConnection(name=name, base_url=url or scp.url, access_key=scp.access_key)
    row.set_secret_key(secret)
    row.save()


def test_a_failing_connection_does_not_stop_the_others(scp):
    _second_connection(scp, "busan", secret="wrong-secret")

    run = services_sync()

    assert len(run.errors) == 1
    assert run.errors[0].startswith("busan: ")
    assert Service.objects.filter(connection_name="default").count() == 5
    assert not Service.objects.filter(connection_name="busan").exists()


@pytest.fixture
def silent_server():
    """A TCP server that accepts and never answers (an SCP that hangs)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_slow_connection_does_not_delay_the_others_writes(scp, settings, silent_server):
    settings.SCP_READ_TIMEOUT = 1.5
    _second_connection(scp, "hanging", secret=scp.secret_key, url=silent_server)

    run = services_sync()

    assert [e.split(":")[0] for e in run.errors] == ["hanging"]
    assert "did not answer in time" in run.errors[0]
    written = Service.objects.filter(connection_name="default")
    assert written.count() == 5
    # The default connection's services were stored while the other one still hung.
    latest = max(s.synced_at for s in written)
    assert run.finished_at - latest > timedelta(seconds=1)


# --- One sync at a time ------------------------------------------------------------------


def test_the_database_admits_one_running_sync():
    SyncRun.objects.create(active=True, started_at=timezone.now())

    with pytest.raises(IntegrityError), transaction.atomic():
        SyncRun.objects.create(active=True, started_at=timezone.now())


def test_a_sync_while_another_runs_is_refused(scp):
    sync_run_claim(run=None)

    with pytest.raises(SyncAlreadyRunning):
        services_sync()

    assert services_sync_scheduled() is None
    assert not Service.objects.exists()


def test_a_requested_sync_waits_for_the_running_one(scp, enqueued):
    running = sync_run_claim(run=None)
    requested = SyncRun.objects.create(dispatched_at=timezone.now())

    services_sync_task(requested.pk)  # another sync runs: it waits in its row, no countdown

    requested.refresh_from_db()
    assert requested.is_running and not Service.objects.exists()
    assert sync_runs_dispatch() == 0  # not while the other one runs

    SyncRun.objects.filter(pk=running.pk).update(active=None, finished_at=timezone.now())
    SyncRun.objects.filter(pk=requested.pk).update(dispatched_at=None)
    assert sync_runs_dispatch() == 1  # the dispatcher starts it once the other has ended
    assert ("dataflow.services_sync", requested.pk, None) in enqueued
    services_sync_task(requested.pk)

    requested.refresh_from_db()
    assert not requested.is_running
    assert requested.services_seen == 5


def test_a_claim_left_by_a_dead_worker_is_released(scp):
    stale = sync_run_claim(run=None)
    SyncRun.objects.filter(pk=stale.pk).update(started_at=timezone.now() - timedelta(hours=1))

    run = services_sync_scheduled()

    assert run is not None and run.services_seen == 5
    stale.refresh_from_db()
    assert stale.finished_at is not None and stale.active is None
    assert "stopped without finishing" in stale.errors[0]


def test_a_finished_sync_releases_its_claim(scp):
    first = services_sync()
    second = services_sync()

    assert first.active is None and second.active is None
    assert not SyncRun.objects.filter(active=True).exists()


# --- Schedule and queues -----------------------------------------------------------------


def test_beat_runs_the_sync_every_interval():
    from console import settings as real

    entry = real.CELERY_BEAT_SCHEDULE["services-sync"]
    assert entry["task"] == "dataflow.services_sync_scheduled"
    assert entry["schedule"] == real.SCP_SYNC_INTERVAL_MINUTES * 60 == 300


def test_changes_and_syncs_are_routed_to_their_own_queues():
    from celery import Celery
    from celery.app.routes import Router, prepare

    from console import settings as real

    app = Celery("routes-check")
    app.conf.task_create_missing_queues = True
    router = Router(prepare(real.CELERY_TASK_ROUTES), app.amqp.queues, app=app)

    def queue(name: str) -> str:
        route = router.route({}, name)
        return route["queue"].name

    assert queue("dataflow.change_send") == "changes"
    assert queue("dataflow.change_track") == "changes"
    assert queue("dataflow.change_finished") == "changes"
    assert queue("dataflow.changes_sweep") == "changes"
    assert queue("dataflow.fleet_wave") == "changes"
    assert queue("dataflow.services_sync") == "sync"
    assert queue("dataflow.services_sync_scheduled") == "sync"
    assert queue("console.ping") == app.conf.task_default_queue
