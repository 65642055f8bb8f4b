"""Which windows and freezes hold for a service: its own windows replace its connection's;
both kinds of freeze hold; another connection's rules never apply."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from console.dataflow.models import MaintenanceFreeze, MaintenanceWindow, Service
from console.dataflow.windows.gate import service_is_open, service_opening, service_window_note

pytestmark = pytest.mark.django_db
SEOUL = ZoneInfo("Asia/Seoul")
MONDAY_NOON = datetime(2026, 12, 7, 12, 0, tzinfo=SEOUL)


def _service(name: str, connection: str = "default") -> Service:
    return Service.objects.create(
        name=name, scp_id=f"id-{name}", connection_name=connection, config={}
    )


def _window(weekday: int, *, connection: str = "default", service=None) -> None:
    MaintenanceWindow.objects.create(
        connection_name=connection,
        service=service,
        weekday=weekday,
        starts_at=time(22),
        ends_at=time(2),
        time_zone="Asia/Seoul",
    )


def test_a_service_with_windows_of_its_own_follows_those_instead_of_its_connections():
    plain, special = _service("plain"), _service("special")
    _window(1)  # the connection: Tuesdays
    _window(3, service=special)  # the special one: Thursdays only
    assert service_opening(plain, now=MONDAY_NOON).start == datetime(2026, 12, 8, 22, tzinfo=SEOUL)
    assert service_opening(special, now=MONDAY_NOON).start == datetime(
        2026, 12, 10, 22, tzinfo=SEOUL
    )


def test_the_connections_freeze_and_the_services_own_both_hold():
    plain, special = _service("plain"), _service("special")
    MaintenanceFreeze.objects.create(
        connection_name="default", first_day=date(2026, 12, 7), last_day=date(2026, 12, 7)
    )
    MaintenanceFreeze.objects.create(
        connection_name="default",
        service=special,
        first_day=date(2026, 12, 8),
        last_day=date(2026, 12, 8),
        reason="its own release",
    )
    tuesday_noon = datetime(2026, 12, 8, 12, tzinfo=SEOUL)
    assert not service_is_open(plain, now=MONDAY_NOON)
    assert not service_is_open(special, now=MONDAY_NOON)
    assert service_is_open(plain, now=tuesday_noon)
    assert not service_is_open(special, now=tuesday_noon)
    assert service_window_note(special, now=tuesday_noon).freeze.reason == "its own release"


def test_another_connections_rules_never_apply():
    plain = _service("plain")
    _window(1, connection="other")
    assert service_is_open(plain, now=MONDAY_NOON)
    assert service_window_note(plain, now=MONDAY_NOON) is None


def test_a_rule_names_a_known_connection_and_a_service_of_it():
    from django.core.exceptions import ValidationError

    other = _service("other-one", connection="other")
    window = MaintenanceWindow(
        connection_name="default",
        service=other,
        weekday=1,
        starts_at=time(22),
        ends_at=time(2),
        time_zone="Asia/Seoul",
    )
    with pytest.raises(ValidationError) as error:
        window.full_clean()
    assert error.value.message_dict["service"] == ["This service belongs to the connection other."]
    freeze = MaintenanceFreeze(
        connection_name="default",
        first_day=date(2026, 12, 9),
        last_day=date(2026, 12, 8),
        time_zone="Mars/Olympus",
    )
    with pytest.raises(ValidationError) as error:
        freeze.full_clean()
    assert error.value.message_dict["time_zone"] == [
        "Use an IANA time zone name such as Asia/Seoul; got 'Mars/Olympus'."
    ]
    assert error.value.message_dict["last_day"] == ["The freeze cannot end before it starts."]
