"""SCP at its limits: throttling, Retry-After and odd answers never fail a change untruly."""

from __future__ import annotations

import copy
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from console.dataflow.changes.plan import change_precheck
from console.dataflow.changes.send import change_send
from console.dataflow.changes.steps import SEND_TASK, TRACK_TASK
from console.dataflow.changes.track import change_track
from console.dataflow.connections.budget import budget_read, budget_store
from console.dataflow.models import ChangeAttempt, ChangeRequest
from tests.dataflow.helpers import puts, raise_memory, submit_edit

Status = ChangeRequest.Status
pytestmark = pytest.mark.django_db


def applied(scp, service) -> list[dict]:
    return scp.applied_puts(service.scp_id)


def poll_now(change) -> None:
    ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())


def test_a_put_refused_by_the_edge_waits_then_reads_scp_and_sends_it_once(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, fail_next=1, fail_status=417, fail_method="PUT")

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    attempt = change.tries.get()
    assert attempt.outcome == ChangeAttempt.Outcome.THROTTLED
    assert attempt.http_status == 417
    assert "edge firewall is throttling requests" in change.events.last().message
    assert "Request Rejected (support ID" in change.events.last().message
    assert enqueued[-1][:2] == (SEND_TASK, change.pk)
    assert applied(scp, service) == []
    budget = budget_read("default")
    assert budget.throttled_total == 1
    assert budget.rate == 300  # halved; quiet until now, so no limit learnt from it
    assert budget.paused_until > time.time() + 1  # every caller waits the pause out

    change_send(change_id=change.pk)  # waits for the pause, reads SCP again, sends the PUT

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert len(applied(scp, service)) == 1
    methods = [r["method"] for r in scp.requests() if r["path"].endswith(service.scp_id)]
    assert methods[-2:] == ["GET", "PUT"]  # read again before the second PUT


def test_retry_after_on_a_refused_put_is_obeyed_not_two_seconds(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, fail_next=1, fail_status=429, fail_method="PUT", retry_after=120)

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert enqueued[-1][2] >= 120
    assert change.next_poll_at >= timezone.now() + timedelta(seconds=115)
    assert "Trying again in 120 s" in change.events.last().message
    assert applied(scp, service) == []


def test_a_500_that_lasts_longer_than_six_attempts_is_still_waited_out(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    scp.fault(service.scp_id, fail_next=200, fail_status=500)
    for _ in range(8):
        ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=timezone.now())
        change_send(change_id=change.pk)
    change.refresh_from_db()
    assert change.status == Status.QUEUED and change.attempts == 8
    scp.clear_faults()

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert len(applied(scp, service)) == 1


def test_the_budget_holds_a_put_back_without_sending_it(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    from console.dataflow.connections.budget import ConnectionPacer

    ConnectionPacer("default").report(throttled=True, retry_after=90)

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED and not change.put_unconfirmed
    attempt = change.tries.get()
    assert attempt.outcome == ChangeAttempt.Outcome.THROTTLED and not attempt.put_sent
    assert "SCP throttled this connection" in change.events.last().message
    assert enqueued[-1][2] >= 60
    assert puts(scp, service) == []


def test_an_accepted_change_never_fails_on_a_throttled_poll(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    # A throttled read is tried again within the poll when the wait is short; here SCP asks
    # for a minute, longer than a poll waits, so the poll ends without SCP's view.
    scp.fault(service.scp_id, fail_next=1, fail_status=429, fail_method="GET", retry_after=60)
    poll_now(change)

    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status in (Status.ACCEPTED, Status.UPDATING)
    assert "keeps reading it until the tracking deadline" in change.events.last().message
    assert enqueued[-1][:2] == (TRACK_TASK, change.pk)
    assert enqueued[-1][2] >= 55  # the next read waits as long as SCP asked
    budget_store().clear()  # a minute later
    for _ in range(40):
        time.sleep(0.2)
        poll_now(change)
        change_track(change_id=change.pk)
        change.refresh_from_db()
        if change.is_final:
            break
    assert change.status == Status.SUCCEEDED
    assert len(applied(scp, service)) == 1


def test_a_short_throttle_on_a_poll_is_waited_out_within_the_poll(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    scp.fault(service.scp_id, fail_next=1, fail_status=417, fail_method="GET")
    time.sleep(1)  # the update has finished in SCP
    poll_now(change)

    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.SUCCEEDED
    statuses = [r["status"] for r in scp.requests() if r["path"].endswith(service.scp_id)]
    assert statuses[-2:] == [417, 200]


def test_an_accepted_change_keeps_reading_through_a_401(
    scp, imported, admin_user, enqueued, settings
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    settings.SCP_SECRET_KEY = "WRONG-AFTER-A-CLOCK-JUMP"
    poll_now(change)

    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status in (Status.ACCEPTED, Status.UPDATING)
    assert "could not be read" in change.events.last().message
    settings.SCP_SECRET_KEY = scp.secret_key
    for _ in range(40):
        time.sleep(0.2)
        poll_now(change)
        change_track(change_id=change.pk)
        change.refresh_from_db()
        if change.is_final:
            break
    assert change.status == Status.SUCCEEDED


def test_reading_fails_until_the_deadline_then_the_change_says_so(
    scp, imported, admin_user, enqueued, settings
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)
    change_send(change_id=change.pk)
    settings.SCP_SECRET_KEY = "WRONG"
    ChangeRequest.objects.filter(pk=change.pk).update(
        track_deadline=timezone.now() - timedelta(seconds=1), next_poll_at=timezone.now()
    )

    change_track(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "Gave up waiting" in change.events.last().message


def test_a_400_while_the_service_settles_is_busy_not_bad_values(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    earlier = submit_edit(service, admin_user, raise_memory)
    ChangeRequest.objects.filter(pk=earlier.pk).update(
        status=Status.SUCCEEDED, accepted_at=timezone.now(), finished_at=timezone.now()
    )
    change = submit_edit(service, admin_user, lambda c: c.update(description="after it"))
    # SCP refuses the PUT with its 400 while it settles after the earlier update.
    scp.fault(service.scp_id, fail_next=0)
    from unittest import mock

    from console.scp import ScpInvalidInput

    refusal = ScpInvalidInput("busy", status=400, code="ValidationError", details=("settling",))
    with mock.patch("console.scp.client.ScpClient.update_service", side_effect=refusal):
        change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert "still settling after an earlier update" in change.events.last().message
    assert change.tries.get().outcome == ChangeAttempt.Outcome.TRANSIENT


def test_a_400_with_no_update_nearby_is_a_refusal(scp, imported, admin_user, enqueued):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, lambda c: c.update(description="bad"))
    from unittest import mock

    from console.scp import ScpInvalidInput

    refusal = ScpInvalidInput("bad", status=400, code="ValidationError", details=("bad value",))
    with mock.patch("console.scp.client.ScpClient.update_service", side_effect=refusal):
        change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED


def test_the_precheck_under_throttling_gives_no_verdict_and_lets_the_admin_confirm(
    scp, imported, admin_user
):
    from console.dataflow.changes.plan import change_plan
    from console.dataflow.connections.budget import ConnectionPacer
    from console.scp import ServiceConfig

    service = imported["sales-etl"]
    ConnectionPacer("default").report(throttled=True, retry_after=60)
    config = copy.deepcopy(service.config)
    config["workloads"]["nifi"]["memory"] *= 2
    plan = change_plan(
        service=service, desired=ServiceConfig.from_dict(config), password_changed=False
    )

    started = time.monotonic()
    precheck = change_precheck(service=service, plan=plan)

    assert time.monotonic() - started < 2  # the page never waits a minute for the budget
    assert precheck.ok and precheck.verdict == "unreachable"
    assert "throttled" in precheck.to_dict()["message"]


def test_a_same_field_changed_in_scp_before_the_put_is_not_replaced_unseen(
    scp, imported, admin_user, enqueued
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)  # 1024 -> 2048 MiB
    scp.change_in_scp_console(
        service.scp_id, service_workload={"nifi": {"memory": "4096"}}, modified_by="kim"
    )

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "SCP now holds another value for NiFi memory" in change.events.last().message
    assert puts(scp, service) == []
