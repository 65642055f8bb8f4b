"""The arithmetic of maintenance windows and freezes, free of Django and of the database.

A weekly window starts on a weekday at a local time in its time zone and ends at a local time,
the next day when that is not later than the start (22:00-02:00). A freeze covers whole local
days, first to last included, and wins over every window. With no window at all, every moment
is open but the frozen ones.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# How far ahead an opening is looked for: past a year of freezes, nothing is found.
HORIZON = timedelta(days=400)
_NEVER = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Weekly:
    """A weekly window: `weekday` 0 (Monday) to 6, from `starts` to `ends` in `zone`."""

    weekday: int
    starts: time
    ends: time
    zone: str


@dataclass(frozen=True)
class Freeze:
    """Local days `first` to `last` (included) in `zone` when nothing is sent."""

    first: date
    last: date
    zone: str
    reason: str = ""


@dataclass(frozen=True)
class Opening:
    """A span in which changes may be sent; `end` None: no end known within the horizon."""

    start: datetime
    end: datetime | None

    def holds(self, moment: datetime) -> bool:
        return self.start <= moment and (self.end is None or moment < self.end)


def next_opening(
    now: datetime, windows: Iterable[Weekly], freezes: Iterable[Freeze] = ()
) -> Opening | None:
    """The first span at or after `now` in which changes may be sent (starting at `now` when
    open now), or None when none comes within the horizon."""
    windows = list(windows)
    spans = _window_spans(now, windows) if windows else [(now, _NEVER)]
    for start, end in _without(spans, [_freeze_span(freeze) for freeze in freezes]):
        if end > now:
            return Opening(max(start, now), None if end == _NEVER else end)
    return None


def is_open(now: datetime, windows: Iterable[Weekly], freezes: Iterable[Freeze] = ()) -> bool:
    """Whether a change may be sent at `now`."""
    opening = next_opening(now, windows, freezes)
    return opening is not None and opening.start <= now


def freeze_at(now: datetime, freezes: Iterable[Freeze]) -> Freeze | None:
    """The freeze holding `now`, if any."""
    for freeze in freezes:
        start, end = _freeze_span(freeze)
        if start <= now < end:
            return freeze
    return None


def _window_spans(now: datetime, windows: list[Weekly]) -> list[tuple[datetime, datetime]]:
    """Every occurrence of the windows from the day before `now` to the horizon, merged."""
    spans = []
    for window in windows:
        zone = zoneinfo.ZoneInfo(window.zone)
        day = now.astimezone(zone).date() - timedelta(days=1)
        for offset in range(HORIZON.days + 2):
            current = day + timedelta(days=offset)
            if current.weekday() != window.weekday:
                continue
            end_day = current + timedelta(days=1) if window.ends <= window.starts else current
            start = datetime.combine(current, window.starts, zone).astimezone(UTC)
            end = datetime.combine(end_day, window.ends, zone).astimezone(UTC)
            spans.append((start, end))
    return _merged(spans)


def _merged(spans: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Overlapping or touching spans as one."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _freeze_span(freeze: Freeze) -> tuple[datetime, datetime]:
    zone = zoneinfo.ZoneInfo(freeze.zone)
    start = datetime.combine(freeze.first, time(0), zone).astimezone(UTC)
    end = datetime.combine(freeze.last + timedelta(days=1), time(0), zone).astimezone(UTC)
    return start, end


def _without(
    spans: list[tuple[datetime, datetime]], holes: list[tuple[datetime, datetime]]
) -> Iterable[tuple[datetime, datetime]]:
    """`spans` with the `holes` (freezes) cut out, in order."""
    for start, end in spans:
        pieces = [(start, end)]
        for hole_start, hole_end in _merged(holes):
            pieces = [
                piece
                for begin, finish in pieces
                for piece in ((begin, min(finish, hole_start)), (max(begin, hole_end), finish))
                if piece[0] < piece[1]
            ]
        yield from pieces
