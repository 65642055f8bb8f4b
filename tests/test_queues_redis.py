"""Two workers in their own processes, one per queue, on Redis: a change completes while a long
sync runs, as the README's production layout promises."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis
from django.conf import settings as django_settings

from console.celery import app
from console.dataflow.inventory.sync import services_sync_request
from console.dataflow.models import ChangeRequest, SyncRun
from tests.dataflow.helpers import raise_memory, submit_edit
from tests.infrastructure import app_on
from tests.worker_process import WorkerProcess, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The suite's own broker when it is Redis (as in CI); else a database of Redis of its own,
# emptied after the test.
OWN_DB = "redis://127.0.0.1:6379/7"
REDIS_URL = (
    django_settings.CELERY_BROKER_URL
    if django_settings.CELERY_BROKER_URL.startswith("redis://")
    else OWN_DB
)
# Every SCP call not about one service (list pages, versions on offer) waits this long: a sync
# of the demo services takes three such rounds at least.
SLOW_SECONDS = 4.0


@pytest.fixture
def redis_db() -> Iterator[redis.Redis]:
    """Redis db 7, reachable, emptied afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is needed at {REDIS_URL} for this test and is not reachable: {exc}")
    try:
        yield client
    finally:
        if REDIS_URL == OWN_DB:
            client.flushdb()
        client.close()


def test_a_change_completes_while_a_long_sync_runs_on_the_other_queue(
    scp, imported, admin_user, redis_db
):
    suffix = uuid.uuid4().hex[:8]
    changes_queue, sync_queue = f"changes-{suffix}", f"sync-{suffix}"
    routes = {
        "dataflow.change_*": {"queue": changes_queue},
        "dataflow.changes_*": {"queue": changes_queue},
        "dataflow.fleet_*": {"queue": changes_queue},
        "dataflow.services_sync*": {"queue": sync_queue},
    }
    env = {
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "CONSOLE_TEST_ROUTES": "1",
        "CONSOLE_CHANGES_QUEUE": changes_queue,
        "CONSOLE_SYNC_QUEUE": sync_queue,
    }
    keys = {"scp_url": scp.url, "access_key": scp.access_key, "secret_key": scp.secret_key}
    workers = {
        queue: WorkerProcess(
            queue=queue,
            env=worker_env(queue=queue, **keys, **env),
            concurrency=1 if queue == sync_queue else 2,
        )
        for queue in (changes_queue, sync_queue)
    }
    service = imported["sales-etl"]
    # The sync crawls: calls not about one service wait; the changed service answers at once.
    scp.fault(latency=SLOW_SECONDS)
    scp.fault(service.scp_id, latency=0)

    with app_on(broker_url=REDIS_URL, routes=routes, default_queue=changes_queue):
        try:
            for worker in workers.values():
                worker.start()
            run = services_sync_request(requested_by=admin_user)
            sync_started = _wait(
                lambda: SyncRun.objects.filter(pk=run.pk, started_at__isnull=False).first(),
                timeout=30,
                what="the sync to start",
                workers=workers,
            )
            change = submit_edit(service, admin_user, raise_memory, reason="during the sync")
            change = _wait(
                lambda: ChangeRequest.objects.filter(pk=change.pk, status__in=FINAL).first(),
                timeout=30,
                what=f"change #{change.pk} to end",
                workers=workers,
            )
            still_running = SyncRun.objects.get(pk=run.pk).finished_at is None
            finished_run = _wait(
                lambda: SyncRun.objects.filter(pk=run.pk, finished_at__isnull=False).first(),
                timeout=90,
                what="the sync to end",
                workers=workers,
            )
            changes_log = workers[changes_queue].output()
            sync_log = workers[sync_queue].output()
        finally:
            for worker in workers.values():
                worker.stop()

    assert change.status == ChangeRequest.Status.SUCCEEDED, [str(e) for e in change.events.all()]
    assert still_running, "the change ended only after the sync"
    assert sync_started.started_at < change.created_at < change.finished_at
    assert change.finished_at < finished_run.finished_at
    assert not finished_run.errors, finished_run.errors
    assert finished_run.finished_at - finished_run.started_at > timedelta(seconds=2 * SLOW_SECONDS)
    # Each worker ran only the tasks of its own queue ("Task <name>[<id>] succeeded in ...").
    assert "Task dataflow.change_send[" in changes_log
    assert "Task dataflow.services_sync[" not in changes_log
    assert "Task dataflow.services_sync[" in sync_log
    assert "Task dataflow.change_send[" not in sync_log
    # The messages went through Redis: both queues were declared there.
    assert redis_db.exists("_kombu.binding." + changes_queue)
    assert redis_db.exists("_kombu.binding." + sync_queue)


FINAL = ["succeeded", "different", "failed", "cancelled", "rejected", "outside"]


def test_a_plain_worker_without_queues_runs_changes_and_the_sync(scp, imported, admin_user):
    """`celery -A console worker`, as the README starts it: every declared queue is consumed."""
    suffix = uuid.uuid4().hex[:8]
    changes_queue, sync_queue = f"changes-{suffix}", f"sync-{suffix}"
    routes = {
        "dataflow.change_*": {"queue": changes_queue},
        "dataflow.changes_*": {"queue": changes_queue},
        "dataflow.fleet_*": {"queue": changes_queue},
        "dataflow.services_sync*": {"queue": sync_queue},
    }
    env = worker_env(
        queue=changes_queue,
        scp_url=scp.url,
        access_key=scp.access_key,
        secret_key=scp.secret_key,
        CONSOLE_TEST_ROUTES="1",
        CONSOLE_CHANGES_QUEUE=changes_queue,
        CONSOLE_SYNC_QUEUE=sync_queue,
    )
    env.pop("CONSOLE_TEST_QUEUE")  # Celery's own default queue, as in production
    worker = WorkerProcess(queue=changes_queue, env=env, plain=True)
    with app_on(broker_url=app.conf.broker_url, routes=routes, default_queue="celery"):
        worker.start()
        try:
            run = services_sync_request(requested_by=admin_user)
            change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
            workers = {"plain": worker}
            change = _wait(
                lambda: ChangeRequest.objects.filter(pk=change.pk, status__in=FINAL).first(),
                timeout=30,
                what=f"change #{change.pk} to end",
                workers=workers,
            )
            run = _wait(
                lambda: SyncRun.objects.filter(pk=run.pk, finished_at__isnull=False).first(),
                timeout=60,
                what="the sync to end",
                workers=workers,
            )
            log = worker.output()
        finally:
            worker.stop()
    assert change.status == ChangeRequest.Status.SUCCEEDED
    assert not run.errors, run.errors
    assert f".> {changes_queue}" in log and f".> {sync_queue}" in log and ".> celery" in log


def _wait(fetch, *, timeout: float, what: str, workers: dict[str, WorkerProcess]):
    """Poll `fetch` until it returns a row, or fail with the workers' logs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        row = fetch()
        if row is not None:
            return row
        time.sleep(0.1)
    logs = "\n".join(f"--- {queue}\n{worker.output()[-4000:]}" for queue, worker in workers.items())
    raise AssertionError(f"timed out waiting for {what}\n{logs}")
