"""A fleet change and the maintenance windows: a wave starts only while its services may be
changed; a freeze holds the fleet between waves, and its page says until when."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from console.dataflow.fleet.waves import fleet_advance
from console.dataflow.fleet.windows import fleet_window_wait
from console.dataflow.models import FleetChange, MaintenanceFreeze, Preference
from tests.dataflow.fleet import test_fleet
from tests.dataflow.fleet.test_fleet import _finish, _started, _submit

pytestmark = pytest.mark.django_db
# The fleet tests' own fixtures: five services with a Kafka alias, steps recorded.
kafka_services = test_fleet.kafka_services
dispatched = test_fleet.dispatched
SEOUL = ZoneInfo("Asia/Seoul")
MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=SEOUL)
WEDNESDAY = datetime(2026, 12, 9, 0, 0, tzinfo=SEOUL)


def test_a_freeze_holds_a_fleet_between_waves_and_its_page_says_until_when(
    kafka_services, support_user, client, dispatched, enqueued, django_capture_on_commit_callbacks
):
    with time_machine.travel(MONDAY_NOON, tick=False) as traveller:
        with django_capture_on_commit_callbacks(execute=True):
            fleet = _submit(support_user, kafka_services, wave_size=2)
            fleet_advance(fleet_id=fleet.pk)
        [canary] = _started(fleet)  # no window, no freeze yet: the canary goes at once
        MaintenanceFreeze.objects.create(
            connection_name="default",
            first_day=date(2026, 12, 7),
            last_day=date(2026, 12, 8),
            time_zone="Asia/Seoul",
            reason="release week",
        )

        _finish(canary.change)
        fleet_advance(fleet_id=fleet.pk)

        assert len(_started(fleet)) == 1  # the next wave waits for the freeze to end
        fleet.refresh_from_db()
        assert fleet.status == FleetChange.Status.RUNNING
        assert fleet_window_wait(fleet) == WEDNESDAY
        Preference.objects.create(user=support_user, time_zone="Asia/Seoul")
        client.force_login(support_user)
        page = client.get(reverse("dataflow:fleet-detail", args=[fleet.pk])).content.decode()
        assert (
            "The next wave waits for a maintenance window: it starts at 2026-12-09 00:00 KST"
            in page
        )

        traveller.move_to(WEDNESDAY)
        fleet_advance(fleet_id=fleet.pk)  # the sweeper's step, once the freeze is over

        assert [m.service.name for m in _started(fleet)] == ["stream-1", "stream-2", "stream-3"]
        assert fleet_window_wait(fleet) is None


def test_without_windows_a_fleet_never_waits_for_one(
    kafka_services, support_user, dispatched, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        fleet = _submit(support_user, kafka_services, wave_size=2)
        fleet_advance(fleet_id=fleet.pk)
    [canary] = _started(fleet)
    _finish(canary.change)
    assert fleet_window_wait(fleet) is None
    fleet_advance(fleet_id=fleet.pk)
    assert len(_started(fleet)) == 3
