"""The arithmetic of a connection's request budget: a token bucket whose rate adapts.

Pure: every process applies it to the shared state under the store's lock
(`console.dataflow.connections.budget`). A throttling answer halves the rate and pauses every
caller; clean answers let the rate recover, quickly up to what SCP is known to take and slowly
above it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

WINDOW = 60.0  # SCP's edge counts requests per minute
SLOT = 5.0  # the count of the last minute is kept in slots this long
BURST_SECONDS = 3.0  # the bucket holds this many seconds of the rate (at least 2 tokens)
RESERVE_SHARE = 0.3  # of the bucket, kept for people's calls while a sync runs
CEILING_SHARE = 0.9  # of what SCP let through in the minute before it throttled
RECOVER_EVERY = 5.0  # below the known ceiling the rate grows by half this often
PROBE_EVERY = 60.0  # above it (or with none known) by a tenth this often
CEILING_TTL = 3600.0  # an hour without throttling and the ceiling is probed again
MAX_PAUSE = 300.0


@dataclass
class BudgetState:
    """One connection's budget: the rate now, the bucket, the pause, and what SCP taught."""

    rate: float  # requests per minute allowed now
    tokens: float
    refilled_at: float  # epoch seconds
    paused_until: float = 0.0
    ceiling: float | None = None  # the rate SCP is known to take, learnt from its throttling
    throttled_at: float = 0.0
    adjusted_at: float = 0.0
    throttles: int = 0  # episodes in a row, for the pause's backoff
    throttled_total: int = 0  # throttling answers ever seen on this connection
    # [slot start, requests SCP answered without throttling]: what its edge let through.
    slots: list[list[float]] = field(default_factory=list)

    @classmethod
    def fresh(cls, *, now: float, max_rate: float) -> BudgetState:
        """A connection never paced before: the configured rate and a full bucket."""
        return cls(rate=max_rate, tokens=_capacity(max_rate), refilled_at=now, adjusted_at=now)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, now: float, max_rate: float) -> BudgetState:
        """The stored state; an unreadable one starts afresh."""
        try:
            state = cls(**{key: data[key] for key in data if key in cls.__dataclass_fields__})
            float(state.rate) + float(state.tokens) + float(state.refilled_at)
        except (TypeError, ValueError, KeyError):
            return cls.fresh(now=now, max_rate=max_rate)
        return state

    def to_dict(self) -> dict[str, Any]:
        """What the store keeps."""
        return asdict(self)

    def sent_last_minute(self, now: float) -> float:
        """Requests SCP let through in the last minute, as every process reported them."""
        return sum(count for start, count in self.slots if start + SLOT > now - WINDOW)

    def record(self, now: float, answered: int) -> None:
        """Count `answered` requests SCP let through, in the slot of `now`."""
        if answered <= 0:
            return
        slot = math.floor(now / SLOT) * SLOT
        if self.slots and self.slots[-1][0] == slot:
            self.slots[-1][1] += answered
        else:
            self.slots.append([slot, float(answered)])


def _capacity(rate: float) -> float:
    return max(2.0, rate / 60.0 * BURST_SECONDS)


def budget_settle(state: BudgetState, *, now: float, max_rate: float, floor: float) -> None:
    """Bring the state to `now`: refill the bucket, recover the rate, forget old slots."""
    state.rate = min(max(state.rate, floor), max_rate)
    if state.ceiling is not None and now - state.throttled_at > CEILING_TTL:
        state.ceiling = None  # an hour clean: SCP may take more now
    if now >= state.paused_until:
        _recover(state, now=now, max_rate=max_rate)
    elapsed = max(0.0, now - state.refilled_at)
    state.tokens = min(_capacity(state.rate), state.tokens + elapsed * state.rate / 60.0)
    state.refilled_at = now
    state.slots = [slot for slot in state.slots if slot[0] + SLOT > now - WINDOW]


def _recover(state: BudgetState, *, now: float, max_rate: float) -> None:
    """Raise the rate after a clean spell: by half up to the known ceiling, by a tenth above it.

    With a ceiling known the rate grows towards it every RECOVER_EVERY seconds; without one it
    probes towards `max_rate` every PROBE_EVERY seconds. A pause counts as not clean.
    """
    if state.ceiling is not None:
        target, growth, every = state.ceiling, 1.5, RECOVER_EVERY
    else:
        target, growth, every = max_rate, 1.1, PROBE_EVERY
    since = now - max(state.adjusted_at, state.paused_until)
    if state.rate < target and since >= every:
        state.rate = min(target, state.rate * growth)
        state.adjusted_at = now


def budget_take(
    state: BudgetState,
    *,
    now: float,
    count: int,
    background: bool,
    max_rate: float,
    floor: float,
    answered: int = 0,
) -> tuple[int, float]:
    """Take up to `count` tokens: (granted, seconds to wait when none was granted).

    A background caller (the sync) leaves a reserve in the bucket for people's calls.
    `answered`: requests SCP let through since the caller last took, counted now.
    """
    budget_settle(state, now=now, max_rate=max_rate, floor=floor)
    state.record(now, answered)
    if now < state.paused_until:
        return 0, state.paused_until - now
    reserve = max(1.0, _capacity(state.rate) * RESERVE_SHARE) if background else 0.0
    granted = min(count, math.floor(state.tokens - reserve + 1e-9))
    if granted >= 1:
        state.tokens -= granted
        return granted, 0.0
    return 0, (reserve + 1.0 - state.tokens) / (state.rate / 60.0)


def budget_throttled(
    state: BudgetState,
    *,
    now: float,
    retry_after: float | None,
    max_rate: float,
    floor: float,
    answered: int = 0,
) -> None:
    """SCP throttled a request: slow down, learn its limit, and pause every caller.

    An answer to a request sent before the current pause began (one of those in flight when
    SCP first said no) belongs to the same episode and only extends the pause; the first
    answer of an episode halves the rate. When the console was using at least half its rate,
    what SCP let through in the last minute is about SCP's limit: the rate then stays under
    90 % of it until an hour passes without throttling.
    """
    budget_settle(state, now=now, max_rate=max_rate, floor=floor)
    state.record(now, answered)
    state.throttled_total += 1
    if now >= state.paused_until:
        sent = state.sent_last_minute(now)
        if sent >= 4 and sent >= state.rate / 2:
            state.ceiling = max(floor, CEILING_SHARE * sent)
        halved = state.rate / 2.0
        state.rate = max(floor, min(halved, state.ceiling) if state.ceiling else halved)
        state.throttles = state.throttles + 1 if now - state.throttled_at < 2 * WINDOW else 1
        state.throttled_at = now
        state.adjusted_at = now
    backoff = min(60.0, 2.0 * 2 ** (state.throttles - 1))
    pause = min(MAX_PAUSE, max(retry_after or 0.0, backoff, _drain(state, now)))
    state.paused_until = max(state.paused_until, now + pause)
    state.tokens = 0.0


def _drain(state: BudgetState, now: float) -> float:
    """Seconds until the last minute's count is under the current rate (SCP's window clears)."""
    target = state.ceiling if state.ceiling is not None else state.rate
    sent = state.sent_last_minute(now)
    for start, count in sorted(state.slots):
        if sent < target:
            break
        sent -= count
        wait = start + SLOT + WINDOW - now
        if sent < target:
            return max(0.0, wait)
    return 0.0
