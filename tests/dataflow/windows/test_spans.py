"""The arithmetic of maintenance windows and freezes: weekly spans across midnight, time
zones, freezes winning."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from console.dataflow.windows.spans import (
    Freeze,
    Weekly,
    freeze_at,
    is_open,
    next_opening,
)

SEOUL = ZoneInfo("Asia/Seoul")
TUE, THU = 1, 3
# Tuesdays and Thursdays, 22:00 to 02:00 the next morning, Seoul time.
NIGHTS = [
    Weekly(TUE, time(22), time(2), "Asia/Seoul"),
    Weekly(THU, time(22), time(2), "Asia/Seoul"),
]


def seoul(*args: int) -> datetime:
    return datetime(*args, tzinfo=SEOUL)


def test_no_window_is_always_open():
    now = seoul(2026, 12, 7, 12, 0)  # a Monday noon
    assert is_open(now, [])
    assert next_opening(now, []).start == now
    assert next_opening(now, []).end is None


def test_outside_a_window_the_next_one_starts_at_its_local_time():
    monday_noon = seoul(2026, 12, 7, 12, 0)
    opening = next_opening(monday_noon, NIGHTS)
    assert not is_open(monday_noon, NIGHTS)
    assert opening.start == seoul(2026, 12, 8, 22, 0)
    assert opening.end == seoul(2026, 12, 9, 2, 0)


def test_a_window_crossing_midnight_is_open_after_midnight_and_shut_at_its_end():
    assert is_open(seoul(2026, 12, 8, 22, 0), NIGHTS)  # its first minute
    assert is_open(seoul(2026, 12, 9, 1, 59), NIGHTS)  # Wednesday morning, still Tuesday's
    assert not is_open(seoul(2026, 12, 9, 2, 0), NIGHTS)  # its end is not in it
    assert not is_open(seoul(2026, 12, 8, 21, 59), NIGHTS)


def test_open_now_the_opening_starts_now_and_ends_with_the_window():
    now = seoul(2026, 12, 10, 23, 30)  # Thursday night
    opening = next_opening(now, NIGHTS)
    assert opening.start == now
    assert opening.end == seoul(2026, 12, 11, 2, 0)


def test_the_window_is_read_in_its_own_time_zone_whatever_the_clock_says():
    # Tuesday 13:00 UTC is Tuesday 22:00 in Seoul.
    assert is_open(datetime(2026, 12, 8, 13, 0, tzinfo=UTC), NIGHTS)
    assert not is_open(datetime(2026, 12, 8, 12, 59, tzinfo=UTC), NIGHTS)
    # The same window in UTC opens nine hours later.
    utc_nights = [Weekly(TUE, time(22), time(2), "UTC")]
    assert next_opening(datetime(2026, 12, 8, 13, 0, tzinfo=UTC), utc_nights).start == datetime(
        2026, 12, 8, 22, 0, tzinfo=UTC
    )


def test_a_sunday_night_window_wraps_into_monday():
    sunday = [Weekly(6, time(23), time(1), "Asia/Seoul")]
    assert is_open(seoul(2026, 12, 14, 0, 30), sunday)  # a Monday, 00:30
    assert next_opening(seoul(2026, 12, 14, 1, 0), sunday).start == seoul(2026, 12, 20, 23, 0)


def test_a_freeze_wins_over_the_windows_it_covers():
    year_end = Freeze(date(2026, 12, 20), date(2027, 1, 3), "Asia/Seoul", "year-end")
    # Tuesday 2026-12-22 22:00 is inside the freeze: the first window after it is Tue 5 Jan.
    opening = next_opening(seoul(2026, 12, 19, 12, 0), NIGHTS, [year_end])
    assert not is_open(seoul(2026, 12, 22, 23, 0), NIGHTS, [year_end])
    assert opening.start == seoul(2027, 1, 5, 22, 0)
    assert freeze_at(seoul(2026, 12, 22, 23, 0), [year_end]) == year_end


def test_a_freeze_cuts_a_window_that_crosses_into_it():
    # The freeze starts on Wednesday 9 Dec: Tuesday night's window closes at midnight.
    freeze = Freeze(date(2026, 12, 9), date(2026, 12, 9), "Asia/Seoul")
    opening = next_opening(seoul(2026, 12, 8, 12, 0), NIGHTS, [freeze])
    assert opening.start == seoul(2026, 12, 8, 22, 0)
    assert opening.end == seoul(2026, 12, 9, 0, 0)


def test_a_freeze_without_windows_holds_only_its_days():
    freeze = Freeze(date(2026, 12, 20), date(2027, 1, 3), "Asia/Seoul")
    assert is_open(seoul(2026, 12, 19, 23, 59), [], [freeze])
    assert not is_open(seoul(2027, 1, 3, 23, 59), [], [freeze])
    opening = next_opening(seoul(2026, 12, 25, 9, 0), [], [freeze])
    assert opening.start == seoul(2027, 1, 4, 0, 0)
    assert opening.end is None


def test_windows_that_touch_are_one_opening():
    back_to_back = [
        Weekly(TUE, time(22), time(0), "Asia/Seoul"),
        Weekly(2, time(0), time(3), "Asia/Seoul"),
    ]
    opening = next_opening(seoul(2026, 12, 8, 23, 0), back_to_back)
    assert opening.end == seoul(2026, 12, 9, 3, 0)


def test_a_freeze_longer_than_the_horizon_finds_no_opening():
    forever = Freeze(date(2026, 1, 1), date(2030, 1, 1), "UTC")
    assert next_opening(seoul(2026, 12, 7, 12, 0), NIGHTS, [forever]) is None
    assert not is_open(seoul(2026, 12, 8, 23, 0), NIGHTS, [forever])
