"""Every worker's dispatcher: what the database says is due goes to the queue, once.

No step of a change waits in the broker. A retry after a transient fault, or the next poll of
an accepted change, is a time in the change's row (`next_poll_at`); a thread in every worker's
main process (`DispatcherThread`, started by the worker's bootstep in console/celery.py) sends
a task for each change whose time has come, about once a second. Countdown messages held in
Redis for minutes were what a broker outage could lose or choke on; now a broker that comes
back after any outage finds nothing it must remember, and the dispatcher sends what is due.

Each tick also beats for the worker (work/workers.py) and takes back the claims no
live process holds (`changes_recover_dead`), and lets a requested refresh run once the one
running has ended. Celery beat's sweeper runs the same functions as a backstop.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from console.dataflow.changes.recover import changes_recover_dead
from console.dataflow.inventory.sync import SYNC_TASK
from console.dataflow.models import SyncRun
from console.dataflow.work import queueing
from console.dataflow.work.queueing import REDISPATCH_AFTER, changes_dispatch_due
from console.dataflow.work.workers import worker_beat

logger = logging.getLogger(__name__)


def sync_runs_dispatch(*, now=None) -> int:
    """Start the oldest requested refresh once none is running (a waiting one, or one whose
    message was lost); how many were sent."""
    now = now or timezone.now()
    if SyncRun.objects.filter(active=True).exists():
        return 0
    waiting = (
        SyncRun.objects.filter(finished_at__isnull=True, active__isnull=True)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        .order_by("requested_at", "pk")
        .values_list("pk", flat=True)
        .first()
    )
    if waiting is None:
        return 0
    claimed = (
        SyncRun.objects.filter(pk=waiting)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER))
        .update(dispatched_at=now)
    )
    return int(bool(claimed) and queueing.task_send(SYNC_TASK, waiting))


def changes_sweep() -> dict[str, int]:
    """Celery beat's backstop: the dispatcher's round without a worker identity, and a step
    for every running fleet change (idempotent)."""
    from console.dataflow.fleet.waves import fleet_advance_dispatch
    from console.dataflow.models import FleetChange

    counts = dispatcher_tick(identity=None, busy=set())
    running = FleetChange.objects.filter(status=FleetChange.Status.RUNNING)
    for fleet_id in running.values_list("pk", flat=True):
        fleet_advance_dispatch(fleet_id)
        counts["fleet"] = counts.get("fleet", 0) + 1
    return counts


def dispatcher_tick(*, identity: str | None, busy: set[int]) -> dict[str, int]:
    """One round: beat, take back dead claims, send what is due. `identity` None: Celery beat."""
    now = timezone.now()
    if identity:
        worker_beat(identity=identity, now=now)
    recovered = changes_recover_dead(identity=identity, busy=busy, now=now)
    # What was just taken back is due now too: dispatched in this same round.
    now = timezone.now()
    return {
        "recovered": recovered,
        "sent": changes_dispatch_due(now=now),
        "syncs": sync_runs_dispatch(now=now),
    }


class DispatcherThread(threading.Thread):
    """Runs `dispatcher_tick` every CONSOLE_DISPATCH_SECONDS in a worker's main process.

    `busy` names the changes the worker's tasks are working on now (Celery's active requests).
    A database or broker that does not answer is logged once a minute and tried again on the
    next tick: the thread never dies of an outage.
    """

    def __init__(self, *, identity: str, busy) -> None:
        """A daemon thread for the worker `identity`; `busy()` returns the change ids."""
        super().__init__(name="console-dispatcher", daemon=True)
        self.identity = identity
        self._busy = busy
        self._halt = threading.Event()
        self._complained_at = 0.0

    def stop(self) -> None:
        """End the loop; the thread exits within a tick."""
        self._halt.set()

    def run(self) -> None:
        """Tick until stopped; the first tick at once (a worker that starts takes back work)."""
        while not self._halt.is_set():
            self._tick()
            self._halt.wait(settings.CONSOLE_DISPATCH_SECONDS)

    def _tick(self) -> None:
        # Under the fork lock, and with its database connection closed at the end: a pool
        # process forked by this worker never inherits a half-done transaction (SQLite would
        # believe the lock still held) or a connection it might close under the parent.
        with _FORK_LOCK:
            try:
                counts = dispatcher_tick(identity=self.identity, busy=self._busy())
                if counts["recovered"]:
                    logger.info("took back %s change(s) no live worker held", counts["recovered"])
            except Exception as exc:  # a database or broker outage: try again next tick
                if time.monotonic() - self._complained_at > 60:
                    self._complained_at = time.monotonic()
                    logger.warning("dispatcher tick failed, trying again: %r", exc)
            finally:
                connection.close()


# Held by a dispatcher tick; a fork (the prefork pool starting or replacing a process) waits
# for the tick to end.
_FORK_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=_FORK_LOCK.acquire,
        after_in_parent=_FORK_LOCK.release,
        after_in_child=_FORK_LOCK.release,
    )
