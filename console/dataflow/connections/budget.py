"""The request budget of each SCP connection, shared by every process that talks to it.

SCP's edge firewall refuses a client that sends too much (HTTP 417 past roughly 80 requests a
minute, SCP_API.md §8), and its limit is not published. Every web process and worker paces its
calls by one budget per connection, kept where they all see it: a row per connection in
PostgreSQL, or a small SQLite file beside the SQLite database (SQLite means one machine).

The budget is a token bucket whose rate adapts: a throttling answer halves the rate (never
below the floor; never above 90 % of what SCP let through in the minute before, once the
console was sending at half its rate or more) and pauses every caller until that minute's count
has fallen under the new rate, or for as long as SCP's Retry-After asks. While answers are
clean the rate recovers quickly to the rate SCP is known to take, and above it only slowly, up
to `SCP_REQUESTS_PER_MINUTE`. A person's calls (pre-check, PUT, tracking reads) come first: a
sync takes a token only while a few stay in reserve for them. The store is never allowed to
stop a change: if it cannot be read, calls go out unpaced and the worker logs why.

This module keeps the state where every process sees it and paces the callers;
`budgetrate` holds the bucket's arithmetic, which each process applies under the store's lock.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.db import connections
from django.utils.translation import gettext as _

from console.dataflow.connections.budgetrate import (
    WINDOW,
    BudgetState,
    budget_take,
    budget_throttled,
)
from console.scp import ScpThrottled

logger = logging.getLogger(__name__)
T = TypeVar("T")


# --- Where the state lives ----------------------------------------------------------------------


class BudgetStore:
    """Applies a function to one connection's state under an exclusive lock, across processes."""

    def apply(self, name: str, fn: Callable[[dict[str, Any] | None], tuple[dict, T]]) -> T:
        """Run `fn(stored or None)` -> (state to store, result) atomically; return the result."""
        raise NotImplementedError

    def read(self, name: str) -> dict[str, Any] | None:
        """The stored state of `name`, None when it was never paced."""
        raise NotImplementedError

    def clear(self) -> None:
        """Forget every connection's budget (tests, and `manage.py` after a key change)."""
        raise NotImplementedError

    def close(self) -> None:
        """Let go of any connection the store holds (it reconnects when used again)."""


class SqliteBudgetStore(BudgetStore):
    """A file of its own beside the SQLite database: never behind the database's write lock."""

    def __init__(self, path: Path) -> None:
        """The store in `path` (created on first use)."""
        self.path = Path(path)

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=20, isolation_level=None)
        db.execute("CREATE TABLE IF NOT EXISTS budget (name TEXT PRIMARY KEY, state TEXT NOT NULL)")
        return db

    def apply(self, name, fn):
        """See BudgetStore.apply: BEGIN IMMEDIATE takes the file's write lock."""
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute("SELECT state FROM budget WHERE name = ?", (name,)).fetchone()
            state, result = fn(json.loads(row[0]) if row else None)
            db.execute(
                "INSERT OR REPLACE INTO budget (name, state) VALUES (?, ?)",
                (name, json.dumps(state)),
            )
            db.execute("COMMIT")
            return result
        finally:
            db.close()

    def read(self, name):
        """See BudgetStore.read."""
        db = self._connect()
        try:
            row = db.execute("SELECT state FROM budget WHERE name = ?", (name,)).fetchone()
        finally:
            db.close()
        return json.loads(row[0]) if row else None

    def clear(self):
        """See BudgetStore.clear."""
        db = self._connect()
        try:
            db.execute("DELETE FROM budget")
        finally:
            db.close()


class PostgresBudgetStore(BudgetStore):
    """The `dataflow_scpbudget` table, through a connection of its own (autocommit).

    Its own connection, so that a budget update never joins the caller's transaction (a row
    lock held until a long request commits would serialise every process).
    """

    TABLE = "dataflow_scpbudget"

    def __init__(self) -> None:
        """Connect lazily; one connection per process, shared by its threads under a lock."""
        self._lock = threading.Lock()
        self._db = None
        self._pid = 0

    def _connection(self):
        import psycopg

        if self._db is None or self._pid != os.getpid() or self._db.closed:
            params = connections["default"].get_connection_params()
            params.pop("cursor_factory", None)
            params.pop("context", None)
            params.pop("prepare_threshold", None)
            self._db = psycopg.connect(**params, autocommit=True)
            self._pid = os.getpid()
        return self._db

    def apply(self, name, fn):
        """See BudgetStore.apply: the row is locked FOR UPDATE for the read and the write."""
        from psycopg.types.json import Jsonb

        with self._lock:
            db = self._connection()
            try:
                with db.transaction():
                    db.execute(
                        f"INSERT INTO {self.TABLE} (name, state) VALUES (%s, %s) "  # noqa: S608
                        "ON CONFLICT (name) DO NOTHING",
                        (name, Jsonb({})),
                    )
                    row = db.execute(
                        f"SELECT state FROM {self.TABLE} WHERE name = %s FOR UPDATE",  # noqa: S608
                        (name,),
                    ).fetchone()
                    state, result = fn(row[0] or None)
                    db.execute(
                        f"UPDATE {self.TABLE} SET state = %s WHERE name = %s",  # noqa: S608
                        (Jsonb(state), name),
                    )
                return result
            except Exception:
                self._reset()
                raise

    def read(self, name):
        """See BudgetStore.read."""
        with self._lock:
            try:
                row = (
                    self._connection()
                    .execute(f"SELECT state FROM {self.TABLE} WHERE name = %s", (name,))  # noqa: S608
                    .fetchone()
                )
            except Exception:
                self._reset()
                raise
        return (row[0] or None) if row else None

    def clear(self):
        """See BudgetStore.clear."""
        with self._lock:
            try:
                self._connection().execute(f"DELETE FROM {self.TABLE}")  # noqa: S608
            except Exception:
                self._reset()
                raise

    def close(self) -> None:
        """See BudgetStore.close."""
        with self._lock:
            self._reset()

    def _reset(self) -> None:
        if self._db is not None:
            with contextlib.suppress(Exception):  # a broken connection is dropped regardless
                self._db.close()
        self._db = None


_store: BudgetStore | None = None
_store_lock = threading.Lock()


def budget_store() -> BudgetStore:
    """The store of this installation: PostgreSQL's table, else the SQLite file in VAR_DIR."""
    global _store
    with _store_lock:
        if _store is None:
            engine = settings.DATABASES["default"]["ENGINE"]
            if engine.endswith("postgresql"):
                _store = PostgresBudgetStore()
            else:
                _store = SqliteBudgetStore(Path(settings.VAR_DIR) / "scp-budget.sqlite3")
        return _store


# --- The pacer the SCP client calls --------------------------------------------------------------


def _limits() -> tuple[float, float]:
    max_rate = float(settings.SCP_REQUESTS_PER_MINUTE)
    return max_rate, min(float(settings.SCP_REQUESTS_PER_MINUTE_FLOOR), max_rate)


_warned_at = 0.0


def _store_failed(exc: Exception) -> None:
    """The budget could not be read: calls go out unpaced; say so once a minute."""
    global _warned_at
    if time.monotonic() - _warned_at > 60:
        _warned_at = time.monotonic()
        logger.warning("the SCP request budget is unavailable, calls go out unpaced: %r", exc)


class ConnectionPacer:
    """Paces one connection's calls by the shared budget (console.scp.Pacer).

    `max_wait` bounds the wait of one call (a person's page waits seconds, a worker a little
    longer, then hands the wait to the queue); a background caller (the sync) waits until its
    `deadline` (epoch seconds) instead, takes tokens a few at a time for its threads, and leaves
    a reserve for people's calls. Thread-safe: a sync's threads share one pacer.
    """

    def __init__(
        self,
        name: str,
        *,
        background: bool = False,
        max_wait: float = 20.0,
        deadline: float | None = None,
        store: BudgetStore | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """A pacer for connection `name`."""
        self.name = name
        self.background = background
        self.max_wait = max_wait
        self.deadline = deadline
        self._store = store
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._allowance = 0  # tokens this process already took for its background threads
        self._answered = 0  # answers SCP let through, not yet counted in the shared budget
        self.waited = 0.0  # seconds in which a caller waited for the budget (wall clock)
        self._waiting = 0
        self._waiting_since = 0.0
        self.throttled = 0  # throttling answers this pacer heard

    @property
    def store(self) -> BudgetStore:
        """The installation's store, unless one was given."""
        return self._store or budget_store()

    def acquire(self) -> None:
        """Block until a request may go (see console.scp.Pacer)."""
        waited = 0.0
        while True:
            with self._lock:
                if self._allowance > 0:
                    self._allowance -= 1
                    return
            granted, wait = self._take()
            if granted:
                with self._lock:
                    self._allowance += granted - 1
                return
            allowed = self._allowed_wait(waited)
            if wait > allowed:
                raise ScpThrottled(
                    _("The console holds its requests back: SCP throttled this connection.")
                    if self.throttled_recently()
                    else _("The console paces its requests to SCP to stay under SCP's limit."),
                    retry_after=wait,
                    local=True,
                )
            self._wait(wait)
            waited += wait

    def report(self, *, throttled: bool, retry_after: float | None = None) -> None:
        """Hear SCP's answer: a throttling one slows every process down at once.

        Answers let through are counted locally and added to the shared count with the next
        take: what SCP let through in the last minute is how its limit is learnt.
        """
        with self._lock:
            if not throttled:
                self._answered += 1
                return
            self._allowance = 0
            self.throttled += 1
            answered, self._answered = self._answered, 0
        max_rate, floor = _limits()
        now = self._clock()

        def fn(stored):
            state = _state(stored, now=now, max_rate=max_rate)
            budget_throttled(
                state,
                now=now,
                retry_after=retry_after,
                max_rate=max_rate,
                floor=floor,
                answered=answered,
            )
            return state.to_dict(), None

        try:
            self.store.apply(self.name, fn)
        except Exception as exc:  # the budget must never stop a change
            _store_failed(exc)

    def _wait(self, seconds: float) -> None:
        """Sleep for the budget; `waited` counts wall-clock time in which any thread waited."""
        with self._lock:
            if not self._waiting:
                self._waiting_since = time.monotonic()
            self._waiting += 1
        try:
            self._sleep(seconds)
        finally:
            with self._lock:
                self._waiting -= 1
                if not self._waiting:
                    self.waited += time.monotonic() - self._waiting_since

    def throttled_recently(self) -> bool:
        """Whether SCP throttled this connection in the last minute (any process)."""
        state = budget_read(self.name)
        return bool(state and self._clock() - state.throttled_at < WINDOW)

    def _take(self) -> tuple[int, float]:
        max_rate, floor = _limits()
        now = self._clock()
        count = max(1, min(20, math.floor(max_rate / 60.0 * 0.5))) if self.background else 1
        with self._lock:
            answered, self._answered = self._answered, 0

        def fn(stored):
            state = _state(stored, now=now, max_rate=max_rate)
            result = budget_take(
                state,
                now=now,
                count=count,
                background=self.background,
                max_rate=max_rate,
                floor=floor,
                answered=answered,
            )
            return state.to_dict(), result

        try:
            return self.store.apply(self.name, fn)
        except Exception as exc:  # the budget must never stop a change
            _store_failed(exc)
            return 1, 0.0

    def _allowed_wait(self, waited: float) -> float:
        if self.deadline is not None:
            return self.deadline - self._clock()
        return self.max_wait - waited


def _state(stored: dict[str, Any] | None, *, now: float, max_rate: float) -> BudgetState:
    if not stored:
        return BudgetState.fresh(now=now, max_rate=max_rate)
    return BudgetState.from_dict(stored, now=now, max_rate=max_rate)


def budget_read(name: str) -> BudgetState | None:
    """A connection's budget as it stands, for pages and reports; None if never paced."""
    try:
        stored = budget_store().read(name)
    except Exception as exc:
        _store_failed(exc)
        return None
    if not stored:
        return None
    max_rate, _floor = _limits()
    return BudgetState.from_dict(stored, now=time.time(), max_rate=max_rate)
