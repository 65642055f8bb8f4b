"""A fleet change and the maintenance windows: a wave starts only while every service of it
may be changed; otherwise the fleet waits, and its page says until when."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from console.dataflow.models import IN_FLIGHT, FleetChange, FleetMember
from console.dataflow.windows.gate import service_opening

# With no opening found within the horizon (a freeze of more than a year), look again daily.
LOOK_AGAIN = timedelta(days=1)


def wave_closed_until(members: list[FleetMember], *, now: datetime) -> datetime | None:
    """None when every member's service is inside its windows now; else the latest start of
    their next openings (when the wave may go, if the windows line up)."""
    starts = []
    for member in members:
        opening = service_opening(member.service, now=now)
        if opening is None:
            starts.append(now + LOOK_AGAIN)
        elif opening.start > now:
            starts.append(opening.start)
    return max(starts) if starts else None


def fleet_next_wave(fleet: FleetChange) -> list[FleetMember]:
    """The members the next wave would start: the canary alone, then waves of the size."""
    size = 1 if fleet.wave == 0 else fleet.wave_size
    waiting = fleet.members.filter(state=FleetMember.State.WAITING, wave__isnull=True)
    return list(waiting.order_by("position").select_related("service")[:size])


def fleet_window_wait(fleet: FleetChange, *, now: datetime | None = None) -> datetime | None:
    """When a running fleet change waiting between waves for a maintenance window goes on;
    None when it does not wait for one."""
    if fleet.status != FleetChange.Status.RUNNING:
        return None
    under_way = fleet.members.filter(state=FleetMember.State.STARTING).exists() or (
        fleet.members.filter(change__status__in=IN_FLIGHT).exists()
    )
    if under_way:
        return None
    return wave_closed_until(fleet_next_wave(fleet), now=now or timezone.now())
