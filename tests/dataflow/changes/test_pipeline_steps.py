"""Each pipeline step called directly, against the simulator: the paths a worker rarely sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from kombu.exceptions import OperationalError

from console.dataflow.changes.send import change_send
from console.dataflow.changes.steps import SEND_TASK, TRACK_TASK
from console.dataflow.changes.submit import NothingToChange, StaleEdit, change_cancel
from console.dataflow.changes.track import change_track
from console.dataflow.models import ChangeRequest
from console.dataflow.work.dispatch import changes_sweep
from tests.dataflow.helpers import add_alias, puts, raise_memory, submit_edit

pytestmark = pytest.mark.django_db(transaction=True)
Status = ChangeRequest.Status


def test_submit_queues_the_change_and_dispatches_it_after_commit(
    scp, imported, admin_user, enqueued
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias, reason="  why  ")

    assert change.status == Status.QUEUED
    assert change.reason == "why"
    assert enqueued == [(SEND_TASK, change.pk, None)]
    assert [e.status for e in change.events.all()] == [Status.QUEUED]


def test_a_plan_that_changes_nothing_is_refused(scp, imported, admin_user, enqueued):
    with pytest.raises(NothingToChange):
        submit_edit(imported["sales-etl"], admin_user, lambda c: None)
    assert not ChangeRequest.objects.exists()
    assert enqueued == []


def test_a_plan_made_on_an_older_revision_is_refused(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    from console.dataflow.changes.plan import change_plan
    from console.dataflow.changes.submit import change_submit
    from console.scp import ServiceConfig

    plan = change_plan(
        service=service,
        desired=ServiceConfig.from_dict({**service.config, "description": "mine"}),
        password_changed=False,
    )
    service.config_revision += 1
    service.save()
    with pytest.raises(StaleEdit):
        change_submit(plan=plan, author=admin_user, reason="late")
    assert not ChangeRequest.objects.exists()


def test_send_claims_once_so_a_second_delivery_does_nothing(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)

    change_send(change_id=change.pk)
    change_send(change_id=change.pk)  # the same message delivered twice

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert change.attempts == 1
    assert len(puts(scp, service)) == 1
    assert enqueued[-1][:2] == (TRACK_TASK, change.pk)


def test_send_waits_while_scp_is_updating_the_service(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.set_state(service.scp_id, "UPDATING")

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert enqueued[-1][:2] == (SEND_TASK, change.pk) and enqueued[-1][2] > 0
    assert puts(scp, service) == []  # never a second PUT into an update in progress
    assert "another update is in progress" in change.events.last().message


def test_send_gives_up_with_a_sentence_once_its_patience_is_spent(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, fail_next=10, fail_status=503)
    ChangeRequest.objects.filter(pk=change.pk).update(
        attempts=4, retry_until=timezone.now() - timedelta(seconds=1)
    )

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "kept answering so for 15 minutes (5 attempts)" in change.events.last().message
    assert change.error["status"] == 503


def test_transient_answers_are_waited_out_without_counting_attempts_against_the_change(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, fail_next=10, fail_status=503)
    ChangeRequest.objects.filter(pk=change.pk).update(attempts=40)

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert change.retry_until > timezone.now() + timedelta(minutes=14)
    assert "the change waits up to 15 minutes for SCP" in change.events.last().message


def test_an_answer_lost_after_the_put_is_followed_not_sent_again(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    # As if an earlier attempt's PUT reached SCP but its answer was lost on the way back.
    ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=True)
    scp.set_state(service.scp_id, "UPDATING")

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED and change.update_seen
    assert puts(scp, service) == []
    assert "nothing sent again" in change.events.last().message
    assert change.tries.get().outcome == "found_updating"


def test_track_tolerates_transient_errors_and_stops_at_the_deadline(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_delay=600)
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)

    scp.fault(service.scp_id, fail_next=6, fail_status=502)
    assert change_track(change_id=change.pk) is not None  # a failed poll schedules another
    change.refresh_from_db()
    assert change.status == Status.ACCEPTED and change.poll_errors_in_a_row == 1

    scp.clear_faults()
    scp.fault(service.scp_id, update_delay=600)
    assert change_track(change_id=change.pk) is not None
    change.refresh_from_db()
    assert change.status == Status.UPDATING and change.poll_errors_in_a_row == 0

    ChangeRequest.objects.filter(pk=change.pk).update(
        track_deadline=timezone.now() - timedelta(seconds=1)
    )
    assert change_track(change_id=change.pk) is None
    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "Gave up waiting" in change.events.last().message


def test_cancel_withdraws_only_a_change_no_worker_has_taken(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    assert change_cancel(change=change, by=admin_user) is True
    change.refresh_from_db()
    assert change.status == Status.CANCELLED
    change_send(change_id=change.pk)  # a late message finds nothing to do
    assert puts(scp, service) == []

    other = submit_edit(service, admin_user, add_alias)
    change_send(change_id=other.pk)
    assert change_cancel(change=other, by=admin_user) is False


def test_a_broker_outage_keeps_the_change_queued_with_an_explanation(
    scp, imported, admin_user, monkeypatch
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr("console.dataflow.work.queueing.current_app.send_task", broker_down)
    change = submit_edit(imported["sales-etl"], admin_user, raise_memory)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert "task queue is unreachable" in change.events.last().message
    assert change.dispatched_at is None  # the dispatcher sends it once the broker answers


def test_the_sweeper_dispatches_what_is_due_and_recovers_a_dead_submit(
    scp, imported, admin_user, enqueued, settings
):
    services = imported
    old = timezone.now() - timedelta(minutes=10)
    queued = submit_edit(services["sales-etl"], admin_user, raise_memory)
    stuck = submit_edit(services["iot-ingest"], admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=stuck.pk).update(
        status=Status.SUBMITTING, submitted_at=old, claimed_by="gone@host|1|aa"
    )
    tracking = submit_edit(services["ml-features"], admin_user, add_alias)
    ChangeRequest.objects.filter(pk=tracking.pk).update(status=Status.UPDATING, next_poll_at=old)
    later = submit_edit(services["log-archive"], admin_user, add_alias)
    ChangeRequest.objects.filter(pk=later.pk).update(
        status=Status.UPDATING, next_poll_at=timezone.now() + timedelta(seconds=20)
    )
    enqueued.clear()

    counts = changes_sweep()

    assert counts == {"recovered": 1, "sent": 3, "syncs": 0}
    assert (SEND_TASK, queued.pk, None) in enqueued
    assert (SEND_TASK, stuck.pk, None) in enqueued
    assert (TRACK_TASK, tracking.pk, None) in enqueued
    assert all(pk != later.pk for _, pk, _ in enqueued)  # not due yet
    stuck.refresh_from_db()
    assert stuck.status == Status.QUEUED
    assert "worker stopped before sending" in stuck.events.last().message
    enqueued.clear()

    assert changes_sweep()["sent"] == 0  # one message per due step


def test_a_failed_change_can_be_tried_again_through_a_new_review(
    client, scp, imported, admin_user, lead_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory, reason="more heap")
    ChangeRequest.objects.filter(pk=change.pk).update(status=Status.FAILED)

    client.force_login(lead_user)
    assert client.post(f"/changes/{change.pk}/retry/").status_code == 403

    client.force_login(admin_user)
    review = client.post(f"/changes/{change.pk}/retry/", follow=True)
    html = review.content.decode()
    assert 'data-field="workloads.nifi.memory"' in html
    assert "more heap" in html  # the reason is carried over, editable
    confirm = client.post(review.request["PATH_INFO"], {"reason": "more heap, second try"})
    assert confirm.status_code == 302
    retry = ChangeRequest.objects.exclude(pk=change.pk).get()
    assert retry.status == Status.QUEUED
    assert (
        retry.desired_config["workloads"]["nifi"]["memory"]
        == change.desired_config["workloads"]["nifi"]["memory"]
    )


def test_an_unreadable_202_is_not_followed_by_a_second_put(
    scp, imported, admin_user, enqueued, monkeypatch
):
    from console.scp import ScpBadResponse, ScpClient

    real_update = ScpClient.update_service

    def update_then_garble(self, service_id, body):
        real_update(self, service_id, body)  # SCP got it and accepted it...
        raise ScpBadResponse("garbled answer", status=202)  # ...but the answer was unreadable

    service = imported["sales-etl"]
    scp.fault(service.scp_id, update_delay=600)
    change = submit_edit(service, admin_user, raise_memory)
    monkeypatch.setattr(ScpClient, "update_service", update_then_garble)
    change_send(change_id=change.pk)
    monkeypatch.setattr(ScpClient, "update_service", real_update)

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED and change.put_unconfirmed  # followed, not resent
    assert change.tries.get().outcome == "answer_lost"
    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.UPDATING
    assert len(puts(scp, service)) == 1
