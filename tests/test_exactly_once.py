"""Exactly once, under faults: a real worker in its own process, killed and started again.

Each scenario runs five times: a race that passes once by luck must not pass here.
"""

from __future__ import annotations

import time
import uuid

import pytest

from console.celery import app
from console.dataflow.models import ChangeRequest
from tests.dataflow.helpers import add_alias, raise_memory, submit_edit
from tests.worker_process import WorkerProcess, worker_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status
RUNS = range(1, 6)


@pytest.fixture
def worker(request, scp, imported, settings):
    """A worker process on a fresh queue; this test process sends its tasks there too."""
    options = getattr(request, "param", {})
    concurrency = options.get("concurrency", 2)
    queue = f"once-{uuid.uuid4().hex[:10]}"
    previous = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    process = WorkerProcess(
        queue=queue,
        env=worker_env(
            queue=queue,
            scp_url=scp.url,
            access_key=scp.access_key,
            secret_key=scp.secret_key,
            **options.get("env", {}),
        ),
        concurrency=concurrency,
    )
    process.start()
    try:
        yield process
    finally:
        process.stop()
        app.conf.task_default_queue = previous


def _wait_for(change: ChangeRequest, predicate, timeout: float, worker: WorkerProcess):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        change.refresh_from_db()
        if predicate(change):
            return change
        time.sleep(0.05)
    events = _events(change)
    raise AssertionError(f"change #{change.pk} is {change.status}: {events}\n{worker.output()}")


def _events(change: ChangeRequest) -> list[str]:
    return [str(e) for e in change.events.all()]


def _final(change, worker, timeout=60.0):
    return _wait_for(change, lambda c: c.is_final, timeout, worker)


def _applied(scp, service) -> int:
    return len(scp.applied_puts(service.scp_id))


@pytest.mark.parametrize("run", RUNS)
def test_two_503s_then_a_lost_202_end_succeeded_with_one_applied_put(
    run, scp, imported, admin_user, worker
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, fail_next=2, fail_status=503, lose_answer_next=1)

    change = _final(submit_edit(service, admin_user, raise_memory), worker)

    assert change.status == Status.SUCCEEDED, _events(change)
    assert _applied(scp, service) == 1
    assert [a.outcome for a in change.tries.all()][-1] == "answer_lost"


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("worker", [{"concurrency": 1}], indirect=True)  # the second one waits
def test_a_worker_killed_while_changes_are_queued_and_submitting_loses_nothing(
    run, scp, imported, admin_user, worker
):
    slow, other = imported["sales-etl"], imported["ml-features"]
    scp.fault(slow.scp_id, latency=3)  # holds the worker's hands on the first change
    first = submit_edit(slow, admin_user, raise_memory)
    _wait_for(first, lambda c: c.status == Status.SUBMITTING, 30, worker)
    second = submit_edit(other, admin_user, add_alias)
    time.sleep(0.3)
    second.refresh_from_db()
    first.refresh_from_db()
    assert (first.status, second.status) == (Status.SUBMITTING, Status.QUEUED)

    worker.kill()
    scp.clear_faults()
    restarted = time.monotonic()
    worker.start()

    first, second = _final(first, worker), _final(second, worker)
    assert time.monotonic() - restarted < 30  # back on track within 30 s of the restart
    assert first.status == Status.SUCCEEDED, _events(first)
    assert second.status == Status.SUCCEEDED, _events(second)
    assert _applied(scp, slow) == 1
    assert _applied(scp, other) == 1


@pytest.mark.parametrize("run", RUNS)
# The kill may land before the PUT left the machine: then SCP never shows it, and after the
# (here short) start grace the console sends it once. Either way exactly one PUT is applied.
@pytest.mark.parametrize("worker", [{"env": {"SCP_TRACK_START_GRACE_SECONDS": "4"}}], indirect=True)
def test_a_worker_killed_while_its_put_is_on_the_wire_never_sends_it_twice(
    run, scp, imported, admin_user, worker
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, latency=1.5)  # every call, the PUT too, takes a while
    _wait_for(change, lambda c: c.put_unconfirmed, 30, worker)

    worker.kill()  # the PUT is on its way; SCP applies it after the worker is gone
    scp.clear_faults()
    restarted = time.monotonic()
    worker.start()

    change = _final(change, worker)
    assert time.monotonic() - restarted < 30  # back on track within 30 s of the restart
    assert change.status == Status.SUCCEEDED, _events(change)
    assert _applied(scp, service) == 1


@pytest.mark.parametrize("run", RUNS)
@pytest.mark.parametrize("phase", [Status.ACCEPTED, Status.UPDATING])
def test_a_worker_killed_while_following_a_change_picks_it_up_again(
    run, phase, scp, imported, admin_user, worker
):
    service = imported["sales-etl"]
    if phase == Status.ACCEPTED:
        scp.fault(service.scp_id, start_delay=8)  # SCP shows the old state for a while
    else:
        scp.fault(service.scp_id, update_delay=8)
    change = submit_edit(service, admin_user, raise_memory)
    _wait_for(change, lambda c: c.status == phase and c.polls >= 1, 30, worker)

    worker.kill()
    restarted = time.monotonic()
    worker.start()

    change = _final(change, worker)
    assert time.monotonic() - restarted < 30  # back on track within 30 s of the restart
    assert change.status == Status.SUCCEEDED, _events(change)
    assert _applied(scp, service) == 1


@pytest.mark.parametrize("run", RUNS)
def test_an_unreadable_secret_fails_with_a_sentence_and_frees_the_service(
    run, scp, imported, admin_user, worker
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory, password="N3w!Passw0rd")
    # As if the encryption keys changed: the stored token no longer decrypts.
    ChangeRequest.objects.filter(pk=change.pk).update(account_password_encrypted="gAAAA-broken")
    change = _final(change, worker)

    assert change.status == Status.FAILED
    assert "cannot read the new NiFi password" in change.events.last().message
    assert _applied(scp, service) == 0
    follow_up = _final(submit_edit(service, admin_user, add_alias), worker)
    assert follow_up.status == Status.SUCCEEDED


@pytest.mark.parametrize("run", RUNS)
def test_a_broker_outage_at_submit_keeps_the_change_until_the_broker_is_back(
    run, scp, imported, admin_user, worker, monkeypatch
):
    from kombu.exceptions import OperationalError

    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to the broker. Connection refused.")

    service = imported["sales-etl"]
    with monkeypatch.context() as patch:
        patch.setattr("console.dataflow.work.queueing.current_app.send_task", broker_down)
        change = submit_edit(service, admin_user, raise_memory)
    notes = [e.message for e in change.events.all()]
    assert any("task queue is unreachable" in note for note in notes), notes

    # The worker's dispatcher hands the change over by itself (its own broker answers).
    change = _final(change, worker)
    assert change.status == Status.SUCCEEDED
    assert _applied(scp, service) == 1
