"""Exactly once when the console's own infrastructure fails: a Redis outage under a prefork
worker, two live workers with one node name, a database that goes away during the PUT.

Real processes: a redis-server of the test's own, prefork workers in their own processes, a
TCP proxy in front of PostgreSQL. Each scenario runs five times.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.utils import timezone

from console.celery import app
from console.dataflow.models import ChangeRequest
from tests.dataflow.helpers import raise_memory, submit_edit
from tests.infrastructure import RedisServer, TcpProxy, app_on
from tests.worker_process import WorkerProcess, _database_url, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status
RUNS = range(1, 6)


def _wait(change: ChangeRequest, predicate, timeout: float, *workers: WorkerProcess):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        change.refresh_from_db()
        if predicate(change):
            return change
        time.sleep(0.05)
    events = [str(e) for e in change.events.all()]
    logs = "\n".join(worker.output()[-4000:] for worker in workers)
    raise AssertionError(f"change #{change.pk} is {change.status}: {events}\n{logs}")


def _events(change: ChangeRequest) -> list[str]:
    return [e.message for e in change.events.all()]


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of this test's own, and this process sending its tasks there."""
    server = RedisServer(tmp_path / "redis")
    server.start()
    queue = f"outage-{uuid.uuid4().hex[:10]}"
    try:
        with app_on(broker_url=server.url, routes={}, default_queue=queue):
            yield server, queue
    finally:
        server.stop()


@pytest.mark.parametrize("run", RUNS)
def test_a_redis_outage_mid_change_needs_no_person_and_sends_one_put(
    run, scp, imported, admin_user, own_redis
):
    server, queue = own_redis
    env = worker_env(
        queue=queue,
        scp_url=scp.url,
        access_key=scp.access_key,
        secret_key=scp.secret_key,
        CELERY_BROKER_URL=server.url,
        CELERY_RESULT_BACKEND=server.url.replace("/0", "/1"),
    )
    worker = WorkerProcess(queue=queue, env=env)
    worker.start()
    try:
        service = imported["sales-etl"]
        scp.fault(service.scp_id, update_delay=6)  # Updating long enough to lose Redis under it
        change = submit_edit(service, admin_user, raise_memory)
        _wait(change, lambda c: c.status == Status.UPDATING, 30, worker)
        # A poll is under way (SCP answers it 3 s late) when Redis goes: its message is held
        # unacknowledged, which is what kombu must put back when the connection is lost.
        scp.fault(service.scp_id, latency=3)
        time.sleep(1)

        server.stop()
        time.sleep(8)
        scp.fault(service.scp_id, latency=0)
        server.start()

        change = _wait(change, lambda c: c.is_final, 90, worker)
        assert change.status == Status.SUCCEEDED, _events(change)
        assert len(scp.applied_puts(service.scp_id)) == 1
        assert worker.process.poll() is None, "the worker exited"
        assert "Unrecoverable error" not in worker.output()
        # Nothing was left "sending"; the page's sentences are about what happened.
        assert not change.tries.filter(outcome="sending").exists()
    finally:
        worker.stop()


@pytest.mark.parametrize("run", RUNS)
def test_two_live_workers_with_one_node_name_never_send_two_puts(run, scp, imported, admin_user):
    queue = f"twins-{uuid.uuid4().hex[:10]}"
    env = worker_env(
        queue=queue, scp_url=scp.url, access_key=scp.access_key, secret_key=scp.secret_key
    )
    first = WorkerProcess(queue=queue, env=env, concurrency=1)
    second = WorkerProcess(queue=queue, env=env, concurrency=1)
    second.log = second.log.with_name(f"worker-{queue}-twin.log")
    assert first.node == second.node  # `changes@%h` twice on one host
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    first.start()
    try:
        service = imported["sales-etl"]
        scp.fault(service.scp_id, latency=10)  # SCP answers the worker's read 10 s late
        change = submit_edit(service, admin_user, raise_memory)
        _wait(change, lambda c: c.status == Status.SUBMITTING, 30, first)

        second.start()  # a twin starts while the first one waits for SCP
        time.sleep(20)  # longer than a dead worker's silence (15 s): the claim must stay
        scp.clear_faults()

        change = _wait(change, lambda c: c.is_final, 60, first, second)
        assert change.status == Status.SUCCEEDED, _events(change)
        assert len(scp.applied_puts(service.scp_id)) == 1
        assert not any("worker stopped" in event for event in _events(change)), _events(change)
        assert change.attempts == 1
    finally:
        first.stop()
        second.stop()
        app.conf.task_default_queue = previous


def _postgres() -> bool:
    return connection.vendor == "postgresql"


@pytest.mark.skipif(not _postgres(), reason="a database server outage needs a database server")
@pytest.mark.parametrize("run", RUNS)
def test_a_database_outage_during_the_put_is_recorded_truly_and_recovered_quickly(
    run, scp, imported, admin_user
):
    url = urlsplit(_database_url())
    proxy = TcpProxy(url.hostname or "127.0.0.1", url.port or 5432)
    queue = f"dbdown-{uuid.uuid4().hex[:10]}"
    proxied = url._replace(netloc=f"{url.username}@127.0.0.1:{proxy.port}").geturl()
    env = worker_env(
        queue=queue, scp_url=scp.url, access_key=scp.access_key, secret_key=scp.secret_key
    )
    env["DATABASE_URL"] = proxied
    worker = WorkerProcess(queue=queue, env=env)
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    worker.start()
    try:
        service = imported["sales-etl"]
        scp.fault(service.scp_id, latency=3)  # the read and the PUT each take 3 s
        change = submit_edit(service, admin_user, raise_memory)
        _wait(change, lambda c: c.put_unconfirmed, 30, worker)  # the PUT is on the wire

        proxy.cut()
        time.sleep(8)
        proxy.restore()
        back = time.monotonic()
        scp.clear_faults()

        _wait(change, lambda c: c.status != Status.SUBMITTING, 30, worker)
        assert time.monotonic() - back < 30
        change = _wait(change, lambda c: c.is_final, 60, worker)
        assert change.status == Status.SUCCEEDED, _events(change)
        assert len(scp.applied_puts(service.scp_id)) == 1
        events = _events(change)
        assert not any("worker stopped" in event for event in events), events
        # The 202 came while the database was away, and the change says so as it happened.
        assert any("SCP accepted the update (202)" in event for event in events), events
        assert [a.outcome for a in change.tries.all()] == ["accepted"]
    finally:
        worker.stop()
        proxy.close()
        app.conf.task_default_queue = previous


def test_confirm_answers_at_once_when_the_broker_is_down(
    client, scp, imported, admin_user, own_redis
):
    server, _queue = own_redis
    server.stop()
    service = imported["sales-etl"]

    started = time.monotonic()
    change = submit_edit(service, admin_user, raise_memory)
    took = time.monotonic() - started

    assert took < 3, took
    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert "task queue is unreachable" in change.events.last().message
    assert change.dispatched_at is None  # the dispatcher sends it once the broker answers
    client.force_login(admin_user)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "task queue is unreachable" in page


def test_a_queued_change_no_worker_takes_says_why(client, scp, imported, admin_user, enqueued):
    from console.dataflow.models import WorkerBeat

    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=change.pk).update(
        created_at=timezone.now() - timedelta(minutes=2)
    )
    client.force_login(admin_user)

    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "No worker is running" in page

    WorkerBeat.objects.create(identity="sync@host|1|aa", node="sync@host")
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert "none has taken this change" in page
