"""The shared request budget: its arithmetic, its stores, and the pacer the client calls."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from console.dataflow.connections.budget import ConnectionPacer, SqliteBudgetStore, budget_read
from console.dataflow.connections.budgetrate import BudgetState, budget_take, budget_throttled
from console.scp import ScpThrottled

LIMITS = {"max_rate": 600.0, "floor": 6.0}


def drive(state: BudgetState, *, start: float, seconds: float, edge: int | None) -> dict:
    """Send as fast as the budget allows for `seconds`, behind an edge of `edge` per minute.

    Returns what happened: requests let through, refused by the edge, and the final state.
    """
    now, passed, refused = start, [], 0
    while now < start + seconds:
        granted, wait = budget_take(state, now=now, count=1, background=False, **LIMITS)
        if not granted:
            now += max(wait, 0.001)
            continue
        recent = [t for t in passed if t > now - 60]
        if edge is not None and len(recent) >= edge:
            refused += 1
            budget_throttled(state, now=now, retry_after=None, **LIMITS)
        else:
            passed.append(now)
            state.record(now, 1)  # the pacer counts what SCP let through
        now += 0.01
    return {"passed": len(passed), "refused": refused, "state": state}


def test_a_fresh_budget_lets_the_configured_rate_through() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    outcome = drive(state, start=0.0, seconds=60.0, edge=None)
    # The full bucket (3 s of the rate) and then 10 a second.
    assert 600 <= outcome["passed"] <= 630


def test_a_throttle_halves_the_rate_and_pauses_everyone() -> None:
    state = BudgetState.fresh(now=1000.0, max_rate=600.0)
    budget_throttled(state, now=1000.0, retry_after=None, **LIMITS)
    assert state.rate == 300.0
    assert state.paused_until >= 1002.0
    granted, wait = budget_take(state, now=1001.0, count=1, background=False, **LIMITS)
    assert (granted, wait) == (0, pytest.approx(state.paused_until - 1001.0))


def test_retry_after_sets_the_pause() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    budget_throttled(state, now=100.0, retry_after=120.0, **LIMITS)
    assert state.paused_until == pytest.approx(220.0)


def test_one_episode_of_throttling_halves_once() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    for offset in (0.0, 0.1, 0.2, 0.3):  # the answers of the requests that were in flight
        budget_throttled(state, now=100.0 + offset, retry_after=None, **LIMITS)
    assert state.rate == 300.0
    assert state.throttled_total == 4


def test_a_throttle_while_sending_far_below_the_rate_teaches_no_limit() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    for second in range(14):  # a quiet minute: 14 requests
        budget_take(state, now=float(second), count=1, background=False, answered=1, **LIMITS)
    budget_throttled(state, now=20.0, retry_after=5.0, **LIMITS)
    assert state.ceiling is None
    assert state.rate == 300.0
    assert state.paused_until == pytest.approx(25.0)


def test_the_rate_never_falls_below_the_floor() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    now = 100.0
    for _episode in range(20):  # each a probe after the last pause, refused again
        budget_throttled(state, now=now, retry_after=None, **LIMITS)
        now = state.paused_until + 1
    assert state.rate == 6.0


def test_behind_a_40_a_minute_edge_it_settles_under_the_limit() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=600.0)
    first = drive(state, start=0.0, seconds=600.0, edge=40)
    assert first["passed"] > 300  # ten minutes at about 36 a minute
    # It learnt the limit: 90 % of what the edge let through in the minute before it refused.
    assert first["state"].ceiling == pytest.approx(36.0, rel=0.05)
    later = drive(first["state"], start=600.0, seconds=1200.0, edge=40)
    assert later["refused"] == 0
    assert later["passed"] >= 20 * 34


def test_behind_a_600_a_minute_edge_a_handful_of_refusals_then_none() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=1200.0)
    limits = {"max_rate": 1200.0, "floor": 6.0}

    def run(start: float, seconds: float) -> tuple[int, int]:
        now, passed, refused = start, [], 0
        while now < start + seconds:
            granted, wait = budget_take(state, now=now, count=1, background=False, **limits)
            if not granted:
                now += max(wait, 0.001)
                continue
            if len([t for t in passed if t > now - 60]) >= 600:
                refused += 1
                budget_throttled(state, now=now, retry_after=None, **limits)
            else:
                passed.append(now)
                state.record(now, 1)
            now += 0.001
        return len(passed), refused

    first_passed, first_refused = run(0.0, 180.0)
    assert 1 <= first_refused <= 5
    # Three minutes at 600 would be 1,800: it stays within a tenth of the floor's pace.
    assert first_passed >= 1500
    _passed, refused = run(180.0, 600.0)
    assert refused == 0


def test_a_sync_leaves_a_reserve_for_peoples_calls() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=60.0)  # one a second, a bucket of 3
    took = 0
    while budget_take(state, now=0.0, count=1, background=True, max_rate=60.0, floor=6.0)[0]:
        took += 1
    assert took == 2  # one token stays for a person
    assert budget_take(state, now=0.0, count=1, background=False, max_rate=60.0, floor=6.0)[0]


def test_a_person_is_served_before_a_waiting_sync() -> None:
    state = BudgetState.fresh(now=0.0, max_rate=60.0)
    state.tokens = 0.0
    _granted, sync_wait = budget_take(
        state, now=0.0, count=1, background=True, max_rate=60.0, floor=6.0
    )
    _granted, person_wait = budget_take(
        state, now=0.0, count=1, background=False, max_rate=60.0, floor=6.0
    )
    assert person_wait < sync_wait


def test_an_unreadable_stored_state_starts_afresh() -> None:
    state = BudgetState.from_dict({"rate": "fast"}, now=5.0, max_rate=600.0)
    assert state.rate == 600.0


# --- Stores and the pacer ----------------------------------------------------------------------


def test_the_sqlite_store_is_shared_by_threads_without_losing_a_token(tmp_path: Path) -> None:
    store = SqliteBudgetStore(tmp_path / "budget.sqlite3")
    now = time.time()
    granted: list[int] = []
    lock = threading.Lock()

    def take() -> None:
        for _ in range(20):
            got = store.apply(
                "default",
                lambda stored: _take_once(stored, now=now),
            )
            with lock:
                granted.append(got)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A bucket of 30 at 600 a minute, with no time passing: exactly 30 granted, once each.
    assert sum(granted) == 30


def _take_once(stored, *, now: float):
    state = (
        BudgetState.from_dict(stored, now=now, max_rate=600.0)
        if stored
        else BudgetState.fresh(now=now, max_rate=600.0)
    )
    granted, _wait = budget_take(state, now=now, count=1, background=False, **LIMITS)
    return state.to_dict(), granted


@pytest.mark.django_db(transaction=True)
def test_the_installations_store_keeps_the_budget_across_pacers(settings) -> None:
    settings.SCP_REQUESTS_PER_MINUTE = 120.0
    first = ConnectionPacer("budget-test", max_wait=0.0)
    for _ in range(6):  # the bucket: 3 s of 2 a second
        first.acquire()
    second = ConnectionPacer("budget-test", max_wait=0.0)
    with pytest.raises(ScpThrottled) as caught:
        second.acquire()
    assert caught.value.local
    assert 0 < caught.value.retry_after <= 0.6
    assert budget_read("budget-test").tokens < 1


@pytest.mark.django_db(transaction=True)
def test_a_throttling_answer_reported_by_one_pacer_holds_every_other_back(settings) -> None:
    ConnectionPacer("budget-test").report(throttled=True, retry_after=30.0)
    with pytest.raises(ScpThrottled) as caught:
        ConnectionPacer("budget-test", max_wait=5.0).acquire()
    assert 25 < caught.value.retry_after <= 30
    assert "throttled" in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_a_pacer_waits_when_the_wait_is_affordable(settings) -> None:
    settings.SCP_REQUESTS_PER_MINUTE = 600.0
    ConnectionPacer("budget-test").report(throttled=True, retry_after=0.3)
    started = time.monotonic()
    ConnectionPacer("budget-test", max_wait=5.0).acquire()
    # The pause after a throttle is at least 2 s (backoff), whatever Retry-After says.
    assert 1.5 < time.monotonic() - started < 4


def test_a_broken_store_never_stops_a_call() -> None:
    class Broken(SqliteBudgetStore):
        def apply(self, name, fn):
            raise OSError("disk gone")

    pacer = ConnectionPacer("default", store=Broken(Path("/nonexistent/x")), max_wait=0.0)
    pacer.acquire()
    pacer.report(throttled=True, retry_after=5.0)
