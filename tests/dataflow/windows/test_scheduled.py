"""A change confirmed while its connection is closed waits Scheduled and goes at the window's
start, once, re-planned on SCP's configuration of that moment; admins may send it now."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone

from console.dataflow.changes.approve import change_approve
from console.dataflow.changes.lifecycle import change_actions, change_stuck
from console.dataflow.changes.schedule import (
    RELEASE_TASK,
    SendNowRefused,
    change_release,
    change_send_now,
)
from console.dataflow.changes.send import change_send
from console.dataflow.changes.steps import SEND_TASK
from console.dataflow.changes.submit import ChangeInFlight, change_cancel
from console.dataflow.models import ChangeRequest, MaintenanceFreeze, MaintenanceWindow
from console.dataflow.work.queueing import changes_dispatch_due
from tests.dataflow.helpers import add_alias, puts, raise_memory, submit_edit

pytestmark = pytest.mark.django_db(transaction=True)
Status = ChangeRequest.Status
SEOUL = ZoneInfo("Asia/Seoul")
MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=SEOUL)
TUESDAY_NIGHT = datetime(2026, 12, 8, 22, 0, tzinfo=SEOUL)


@pytest.fixture
def nights(db):
    """The default connection's windows: Tuesdays and Thursdays, 22:00-02:00 Seoul time."""
    for weekday in (1, 3):
        MaintenanceWindow.objects.create(
            connection_name="default",
            weekday=weekday,
            starts_at=time(22),
            ends_at=time(2),
            time_zone="Asia/Seoul",
        )


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        yield traveller


def _released(enqueued) -> list[int]:
    return [pk for name, pk, _ in enqueued if name == RELEASE_TASK]


def test_without_windows_a_change_is_queued_as_before(scp, imported, admin_user, enqueued, monday):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert change.status == Status.QUEUED
    assert enqueued == [(SEND_TASK, change.pk, None)]


def test_a_change_confirmed_outside_a_window_is_sent_once_when_it_opens(
    scp, imported, admin_user, enqueued, nights, monday
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, add_alias)

    assert change.status == Status.SCHEDULED
    assert change.next_poll_at == TUESDAY_NIGHT
    assert enqueued == []
    assert changes_dispatch_due() == 0  # Monday: nothing is due
    with pytest.raises(ChangeInFlight):  # it holds the service while it waits
        submit_edit(service, admin_user, raise_memory)
    # Meanwhile someone changes another field in SCP's own console.
    scp.change_in_scp_console(service.scp_id, service_workload={"nifi": {"memory": "4096"}})

    monday.move_to(TUESDAY_NIGHT)
    assert changes_dispatch_due() == 1
    assert _released(enqueued) == [change.pk]
    assert change_release(change_id=change.pk)
    assert not change_release(change_id=change.pk)  # the same message delivered twice
    change.refresh_from_db()
    assert change.status == Status.QUEUED
    assert enqueued[-1] == (SEND_TASK, change.pk, None)
    change_send(change_id=change.pk)
    change_send(change_id=change.pk)
    assert changes_dispatch_due() == 0

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert len(puts(scp, service)) == 1
    assert len(scp.applied_puts(service.scp_id)) == 1
    # The edit made in SCP meanwhile is kept: the change went on SCP's configuration of now.
    assert change.desired_config["workloads"]["nifi"]["memory"] == 4096
    assert any("metrics.internal.example" in str(a) for a in change.desired_config["host_aliases"])
    messages = [e.message for e in change.events.all()]
    assert messages[0].startswith("Confirmed by alice outside the maintenance windows")
    assert "The maintenance window opened" in messages[1]
    assert "Re-planned on SCP's configuration of now" in messages[1]


def test_a_window_that_closed_before_the_release_leaves_it_for_the_next_one(
    scp, imported, admin_user, enqueued, nights, monday
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    monday.move_to(datetime(2026, 12, 9, 3, 0, tzinfo=SEOUL))  # no worker ran all night

    assert not change_release(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.SCHEDULED
    assert change.next_poll_at == datetime(2026, 12, 10, 22, 0, tzinfo=SEOUL)
    assert "closed before the change was sent" in change.events.last().message
    assert puts(scp, imported["sales-etl"]) == []


def test_a_freeze_holds_a_change_over_the_windows_it_covers(
    scp, imported, admin_user, enqueued, nights, monday
):
    MaintenanceFreeze.objects.create(
        connection_name="default",
        first_day=date(2026, 12, 7),
        last_day=date(2026, 12, 9),
        time_zone="Asia/Seoul",
        reason="release week",
    )
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert change.next_poll_at == datetime(2026, 12, 10, 22, 0, tzinfo=SEOUL)


def test_an_admin_sends_a_scheduled_change_now_with_a_reason(
    scp, imported, admin_user, enqueued, nights, monday
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, add_alias)
    assert change_actions(change, admin_user).send_now

    with pytest.raises(SendNowRefused):
        change_send_now(change=change, by=admin_user, reason="  ")
    assert change_send_now(change=change, by=admin_user, reason="emergency")
    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.ACCEPTED
    assert len(puts(scp, service)) == 1
    sent_now = change.events.get(status=Status.QUEUED).message
    assert sent_now.startswith("Sent now by alice, outside the maintenance windows: emergency")


def test_support_may_not_send_now_but_the_author_may_cancel(
    scp, imported, admin_user, support_user, enqueued, nights, monday
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert not change_actions(change, support_user).send_now
    assert change_actions(change, admin_user).cancel

    assert change_cancel(change=change, by=admin_user)
    change.refresh_from_db()
    assert change.status == Status.CANCELLED
    assert changes_dispatch_due(now=TUESDAY_NIGHT) == 0


def test_a_change_approved_while_closed_is_scheduled(
    scp, imported, admin_user, lead_user, enqueued, nights, monday, settings
):
    settings.SCP_NEEDS_APPROVAL = True
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert change.status == Status.AWAITING_APPROVAL

    assert change_approve(change=change, by=lead_user)

    change.refresh_from_db()
    assert change.status == Status.SCHEDULED
    assert change.next_poll_at == TUESDAY_NIGHT
    assert enqueued == []
    assert "outside its maintenance windows" in change.events.last().message


def test_scp_changing_a_field_the_change_sets_fails_it_at_the_window(
    scp, imported, admin_user, enqueued, nights, monday
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, lambda c: c.update(description="mine"))
    scp.change_in_scp_console(service.scp_id, description="theirs")
    monday.move_to(TUESDAY_NIGHT)

    assert not change_release(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.FAILED
    assert "while it waited for the maintenance window" in change.events.last().message
    assert puts(scp, service) == []
    assert timezone.now() == TUESDAY_NIGHT


def test_a_scheduled_change_no_worker_released_says_so_once_its_window_started(
    scp, imported, admin_user, enqueued, nights, monday
):
    change = submit_edit(imported["sales-etl"], admin_user, add_alias)
    assert change_stuck(change) is None  # waiting for its window is not being stuck

    monday.move_to(datetime(2026, 12, 8, 22, 5, tzinfo=SEOUL))

    assert change_stuck(change).startswith("No worker is running")


def test_scp_unreadable_at_the_window_keeps_it_scheduled_and_tries_again_in_a_minute(
    scp, imported, admin_user, enqueued, nights, monday
):
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, add_alias)
    monday.move_to(TUESDAY_NIGHT)
    scp.fault(service.scp_id, fail_next=20, fail_status=503)

    assert not change_release(change_id=change.pk)
    assert not change_release(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == Status.SCHEDULED
    assert change.next_poll_at == TUESDAY_NIGHT + timedelta(minutes=1)
    unreadable = [e for e in change.events.all() if "could not be read" in e.message]
    assert len(unreadable) == 1  # said once, not at every try
    assert puts(scp, service) == []
