"""How a change's outcome is judged, and how every failure ends: pipeline steps called directly."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from console.dataflow.changes.recover import changes_recover_dead
from console.dataflow.changes.send import change_send
from console.dataflow.changes.steps import SEND_TASK, TRACK_TASK
from console.dataflow.changes.track import change_track
from console.dataflow.models import ChangeRequest
from console.dataflow.work.queueing import changes_dispatch_due
from tests.dataflow.helpers import add_alias, puts, raise_memory, submit_edit

pytestmark = pytest.mark.django_db(transaction=True)
Status = ChangeRequest.Status


def _track_until_final(change: ChangeRequest, timeout: float = 20.0) -> ChangeRequest:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())
        change_track(change_id=change.pk)
        change.refresh_from_db()
        if change.is_final or change.status == Status.QUEUED:
            return change
        time.sleep(0.1)
    raise AssertionError(f"change still {change.status}: {[str(e) for e in change.events.all()]}")


def test_a_repair_of_a_service_in_error_that_ends_running_succeeds(
    scp, imported, admin_user, enqueued
):
    service = imported["finance-batch"]
    assert service.state == "ERROR" and service.cluster_request_failed  # the earlier failure
    change = submit_edit(service, admin_user, raise_memory, reason="repair")

    change_send(change_id=change.pk)
    change = _track_until_final(change)

    assert change.status == Status.SUCCEEDED, [str(e) for e in change.events.all()]
    assert len(puts(scp, service)) == 1


def test_an_update_scp_accepted_but_never_started_fails_after_the_grace(
    scp, imported, admin_user, enqueued, settings
):
    settings.SCP_TRACK_START_GRACE_SECONDS = 1.0
    service = imported["sales-etl"]
    scp.fault(service.scp_id, start_delay=30)  # the 202 shows the old state, RUNNING
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    scp.set_state(service.scp_id, "RUNNING")  # SCP drops the update: the old state stays

    change = _track_until_final(change)

    assert change.status == Status.FAILED
    assert "never showed it starting" in change.events.last().message
    assert len(puts(scp, service)) == 1


def test_a_202_that_says_updating_is_the_update_under_way(scp, imported, admin_user, enqueued):
    # The first poll may come after SCP has already ended the update (here in ERROR): the
    # 202's UPDATING was SCP showing it, so ERROR is this update's outcome, not the old state.
    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_outcome="error", update_delay=0.1)
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    change.refresh_from_db()
    assert change.update_seen
    time.sleep(0.3)

    change = _track_until_final(change)

    assert change.status == Status.FAILED
    assert "ERROR after this update started" in change.events.last().message


def test_the_old_running_state_is_followed_until_scp_shows_the_update(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, start_delay=1.5)
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)

    change_track(change_id=change.pk)  # SCP still shows RUNNING with the old configuration
    change.refresh_from_db()
    assert change.status == Status.ACCEPTED and not change.update_seen
    assert "waiting for the update to start" in change.events.last().message

    change = _track_until_final(change)
    assert change.status == Status.SUCCEEDED, [str(e) for e in change.events.all()]


def test_a_lost_answer_that_scp_never_applied_is_sent_again_after_the_grace(
    scp, imported, admin_user, enqueued, settings
):
    settings.SCP_TRACK_START_GRACE_SECONDS = 0.5
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, add_alias)
    # A first attempt whose PUT may have left but never reached SCP.
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.ACCEPTED,
        put_unconfirmed=True,
        attempts=1,
        accepted_at=timezone.now() - timedelta(seconds=5),
        next_poll_at=timezone.now(),
    )

    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert "it did not arrive" in change.events.last().message
    change_send(change_id=change.pk)
    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert len(puts(scp, service)) == 1


def test_scp_already_holding_every_value_means_nothing_is_sent(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, add_alias)
    # A colleague made the same edit meanwhile, outside the console.
    change.base_config = {**change.base_config, "host_aliases": []}
    ChangeRequest.objects.filter(pk=change.pk).update(base_config=change.base_config)
    change.refresh_from_db()
    desired_aliases = change.desired_config["host_aliases"]
    ChangeRequest.objects.filter(pk=change.pk).update(
        desired_config={**change.desired_config, "host_aliases": desired_aliases[:3]}
    )

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.SUCCEEDED
    assert "nothing needed sending" in change.events.last().message
    assert puts(scp, service) == []


def test_an_unreadable_password_fails_with_a_sentence_and_frees_the_service(
    scp, imported, admin_user, enqueued, settings
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory, password="N3w!Passw0rd")
    settings.CONSOLE_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]  # the old key is gone

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "cannot read the new NiFi password" in change.events.last().message
    assert puts(scp, service) == []
    assert change.tries.get().outcome == "not_sent"
    submit_edit(service, admin_user, add_alias)  # the service is free for the next change


def test_an_unusable_connection_url_fails_at_once(scp, imported, admin_user, enqueued, settings):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    settings.SCP_OPENAPI_URL = "ftp://scp.example/"

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "SCP connection cannot be used" in change.events.last().message


def test_an_unexpected_error_is_retried_then_ends_failed(
    scp, imported, admin_user, enqueued, monkeypatch
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)

    def broken(*args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr("console.dataflow.changes.send.edits_held", broken)
    for _ in range(3):
        ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())
        change_send(change_id=change.pk)
    change.refresh_from_db()
    assert change.status == Status.QUEUED  # waited out, as any transient fault
    ChangeRequest.objects.filter(pk=change.pk).update(
        retry_until=timezone.now() - timedelta(seconds=1)
    )
    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert change.attempts == 4
    assert "unexpected error" in change.events.last().message
    assert "the change gives up; nothing was applied" in change.events.last().message
    assert puts(scp, service) == []


def test_dead_claims_are_taken_back_and_live_ones_left_alone(scp, imported, admin_user, enqueued):
    from console.dataflow.models import WorkerBeat

    earlier = timezone.now() - timedelta(seconds=30)
    WorkerBeat.objects.create(identity="changes@host|222|bb", node="changes@host")

    def claimed(name, status, owner, **fields):
        change = submit_edit(imported[name], admin_user, raise_memory)
        ChangeRequest.objects.filter(pk=change.pk).update(
            status=status, claimed_by=owner, submitted_at=earlier, **fields
        )
        return change

    sent = claimed("sales-etl", Status.SUBMITTING, "changes@host|111|aa", put_unconfirmed=True)
    other = claimed("iot-ingest", Status.SUBMITTING, "changes@host|111|aa")
    # The same node name, another live process: never taken.
    alive = claimed("ml-features", Status.SUBMITTING, "changes@host|222|bb")
    polled = claimed(  # a poll's lease held by the dead process
        "finance-batch",
        Status.UPDATING,
        "changes@host|111|aa",
        next_poll_at=timezone.now() + timedelta(seconds=50),
    )
    enqueued.clear()

    taken = changes_recover_dead(identity="changes@host|333|cc", busy=set())
    sent_now = changes_dispatch_due()

    assert taken == 3
    assert sent_now == 3
    for change in (sent, other, alive, polled):
        change.refresh_from_db()
    assert sent.status == Status.ACCEPTED  # the PUT may have arrived: followed, not resent
    assert "The worker stopped while sending" in sent.events.last().message
    assert other.status == Status.QUEUED  # never sent: sent after reading SCP
    assert alive.status == Status.SUBMITTING  # a live process's claim is left alone
    assert [a.outcome for a in other.tries.all()] in ([], ["worker_lost"])
    assert (TRACK_TASK, sent.pk, None) in enqueued
    assert (SEND_TASK, other.pk, None) in enqueued
    assert (TRACK_TASK, polled.pk, None) in enqueued  # at once, not when the dead lease ends


def test_a_workers_own_claim_is_taken_back_only_when_no_task_of_it_works_on_it(
    scp, imported, admin_user, enqueued
):
    me = "changes@host|444|dd"
    earlier = timezone.now() - timedelta(seconds=30)
    busy = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    idle = submit_edit(imported["iot-ingest"], admin_user, raise_memory)
    ChangeRequest.objects.filter(pk__in=[busy.pk, idle.pk]).update(
        status=Status.SUBMITTING, claimed_by=me, submitted_at=earlier, put_unconfirmed=True
    )

    assert changes_recover_dead(identity=me, busy={busy.pk}) == 1

    busy.refresh_from_db()
    idle.refresh_from_db()
    assert busy.status == Status.SUBMITTING
    assert idle.status == Status.ACCEPTED
    # The worker lives: it did not stop; the attempt's end was not recorded.
    assert "end was not recorded" in idle.events.last().message


def test_a_stuck_change_is_abandoned_only_after_scp_was_read(
    client, scp, imported, admin_user, lead_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.SUBMITTING, submitted_at=timezone.now() - timedelta(minutes=30)
    )

    client.force_login(lead_user)
    assert client.get(f"/changes/{change.pk}/abandon/").status_code == 403

    client.force_login(admin_user)
    page = client.get(f"/changes/{change.pk}/").content.decode()
    assert 'data-testid="abandon-change"' in page and 'data-testid="stuck"' in page
    look = client.get(f"/changes/{change.pk}/abandon/").content.decode()
    assert 'data-testid="scp-state"' in look and "RUNNING" in look
    assert "does not hold" in look

    client.post(f"/changes/{change.pk}/abandon/")

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "Abandoned by alice after checking SCP" in change.events.last().message
    submit_edit(service, admin_user, add_alias)  # the service is free again


def test_scp_hears_the_language_of_the_person_who_made_the_change(
    scp, imported, admin_user, enqueued
):
    from django.utils import translation

    service = imported["sales-etl"]
    with translation.override("ko"):
        change = submit_edit(service, admin_user, raise_memory)
    assert change.language == "ko-KR"

    change_send(change_id=change.pk)  # a worker runs in no particular language

    [put] = puts(scp, service)
    headers = {key.lower(): value for key, value in put["headers"].items()}
    assert headers["accept-language"] == "ko-KR"


def test_a_step_waiting_behind_a_burst_is_not_sent_again_until_the_queue_empties(
    scp, imported, admin_user, enqueued, monkeypatch
):
    from console.dataflow.work import queueing

    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)
    waited = timezone.now() - timedelta(seconds=60)  # sent a minute ago, not taken yet
    ChangeRequest.objects.filter(pk=change.pk).update(dispatched_at=waited, next_poll_at=None)
    enqueued.clear()

    monkeypatch.setattr(queueing, "queue_backlogged", lambda: True)
    assert changes_dispatch_due() == 0  # queued behind the others: a copy would only add
    monkeypatch.setattr(queueing, "queue_backlogged", lambda: False)
    assert changes_dispatch_due() == 1  # the queue is empty: that message was lost
    assert enqueued == [(SEND_TASK, change.pk, None)]

    enqueued.clear()
    long_ago = timezone.now() - queueing.REDISPATCH_BACKLOGGED_AFTER - timedelta(seconds=1)
    ChangeRequest.objects.filter(pk=change.pk).update(dispatched_at=long_ago)
    monkeypatch.setattr(queueing, "queue_backlogged", lambda: True)
    assert changes_dispatch_due() == 1  # however long the queue, never starved
    assert enqueued == [(SEND_TASK, change.pk, None)]
