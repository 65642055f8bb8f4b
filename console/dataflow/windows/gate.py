"""The maintenance windows and freezes of a service, read from the database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q
from django.utils import timezone

from console.dataflow.models import MaintenanceFreeze, MaintenanceWindow, Service
from console.dataflow.windows.spans import Freeze, Opening, Weekly, freeze_at, next_opening


def service_rules(service: Service) -> tuple[list[Weekly], list[Freeze]]:
    """The windows (its own when it has some, else its connection's) and the freezes (its
    own and its connection's) that hold for `service`."""
    own = MaintenanceWindow.objects.filter(service=service)
    rows = (
        own
        if own.exists()
        else MaintenanceWindow.objects.filter(
            connection_name=service.connection_name, service__isnull=True
        )
    )
    windows = [Weekly(row.weekday, row.starts_at, row.ends_at, row.time_zone) for row in rows]
    freeze_rows = MaintenanceFreeze.objects.filter(
        Q(service=service) | Q(service__isnull=True, connection_name=service.connection_name)
    )
    freezes = [
        Freeze(row.first_day, row.last_day, row.time_zone, row.reason) for row in freeze_rows
    ]
    return windows, freezes


def service_opening(service: Service, *, now: datetime | None = None) -> Opening | None:
    """When changes of `service` may next be sent (its start is `now` when open now)."""
    now = now or timezone.now()
    windows, freezes = service_rules(service)
    return next_opening(now, windows, freezes)


def service_is_open(service: Service, *, now: datetime | None = None) -> bool:
    """Whether a change of `service` may be sent now."""
    now = now or timezone.now()
    opening = service_opening(service, now=now)
    return opening is not None and opening.start <= now


def service_freeze(service: Service, *, now: datetime | None = None) -> Freeze | None:
    """The freeze holding `service` now, if any."""
    return freeze_at(now or timezone.now(), service_rules(service)[1])


def service_has_rules(service: Service) -> bool:
    """Whether any window or freeze concerns `service` (without, it is always open)."""
    windows, freezes = service_rules(service)
    return bool(windows or freezes)


@dataclass(frozen=True)
class WindowNote:
    """What the service page says of its maintenance windows."""

    open: bool
    start: datetime | None  # the next opening's start (now, when open)
    end: datetime | None  # when the opening closes; None: not within the horizon
    freeze: Freeze | None  # the freeze holding it now


def service_window_note(service: Service, *, now: datetime | None = None) -> WindowNote | None:
    """The service's window now and next; None when no window or freeze concerns it."""
    now = now or timezone.now()
    windows, freezes = service_rules(service)
    if not windows and not freezes:
        return None
    opening = next_opening(now, windows, freezes)
    return WindowNote(
        open=opening is not None and opening.start <= now,
        start=opening.start if opening else None,
        end=opening.end if opening else None,
        freeze=freeze_at(now, freezes),
    )
