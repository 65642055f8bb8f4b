"""A real worker process releases a scheduled change when its window opens, by its own
dispatcher and clock, and SCP receives exactly one PUT."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from console.dataflow.models import ChangeRequest, MaintenanceWindow
from tests.dataflow.helpers import add_alias, submit_edit

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status


def _window_opening_in(seconds: int):
    """A window of the default connection that opens `seconds` from now (UTC), for an hour."""
    start = (timezone.now() + timedelta(seconds=seconds)).replace(microsecond=0)
    MaintenanceWindow.objects.create(
        connection_name="default",
        weekday=start.weekday(),
        starts_at=start.time(),
        ends_at=(start + timedelta(hours=1)).time(),
        time_zone="UTC",
    )
    return start


def test_a_worker_sends_a_scheduled_change_once_when_its_window_opens(
    scp, imported, admin_user, worker_process
):
    service = imported["sales-etl"]
    opens = _window_opening_in(8)
    change = submit_edit(service, admin_user, add_alias)
    assert change.status == Status.SCHEDULED
    time.sleep(2)
    change.refresh_from_db()
    assert change.status == Status.SCHEDULED  # the worker waits for the window
    assert scp.applied_puts(service.scp_id) == []

    deadline = time.monotonic() + 60
    while not change.is_final and time.monotonic() < deadline:
        time.sleep(0.2)
        change.refresh_from_db()

    events = [e.message for e in change.events.all()]
    assert change.status == Status.SUCCEEDED, (events, worker_process.output())
    assert len(scp.applied_puts(service.scp_id)) == 1
    assert any("The maintenance window opened" in message for message in events)
    assert change.tries.first().started_at >= opens  # not a moment before the window
