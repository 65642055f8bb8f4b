"""Import and refresh services from SCP (`manage.py sync_services`, "Refresh from SCP").

At scale a sync overlaps its calls: per connection, the list pages, the details and the
versions on offer are fetched by a bounded pool of threads (`SCP_SYNC_CONCURRENCY`), each
with a client of its own (a client is thread-unsafe; each request is signed afresh). Every
connection is fetched in a thread of its own, and the calling thread writes whatever any
connection has fetched, in batches of `SCP_SYNC_BATCH_SIZE` services per transaction: one
connection's failure or slowness never holds back the others' writes, and only the calling
thread touches the database.

`listing` reads a connection's list through paced clients, `fetching` its details (both in
threads), and `storing` writes what they learnt; this module runs them, one run at a time.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.connections.budget import budget_read
from console.dataflow.connections.clients import ConnectionUnavailable, connection_names
from console.dataflow.connections.scpcheck import connection_versions_refresh
from console.dataflow.inventory.fetching import (
    DetailBatch,
    FetchDone,
    Handoff,
    connection_fetch,
)
from console.dataflow.inventory.listing import client_pool_for
from console.dataflow.inventory.storing import batch_write, services_mark_gone
from console.dataflow.models import Preference, Service, SyncRun
from console.dataflow.words.scp_text import scp_error_text
from console.scp import ScpError

logger = logging.getLogger(__name__)

SYNC_TASK = "dataflow.services_sync"
SCHEDULED_SYNC_TASK = "dataflow.services_sync_scheduled"
# A sync task is killed by Celery after this long; a run claimed longer ago than this (plus a
# margin) belongs to a dead worker, and its claim is released.
SYNC_TIME_LIMIT_SECONDS = 900
_STALE_AFTER = timedelta(seconds=SYNC_TIME_LIMIT_SECONDS + 60)
# A sync stops reading details this long before its soft time limit, to write what it read.
_WRITE_MARGIN_SECONDS = 90


class SyncAlreadyRunning(Exception):
    """Another sync holds the claim: two syncs never run at once."""


# --- Fetching in threads, writing here ------------------------------------------------------


def _last_synced(name: str) -> dict[str, float]:
    """When each service of a connection was last refreshed (epoch seconds), for the order."""
    rows = Service.objects.filter(connection_name=name, synced_at__isnull=False)
    return {scp_id: when.timestamp() for scp_id, when in rows.values_list("scp_id", "synced_at")}


@dataclass
class _Outcome:
    """What a sync of every connection found and met."""

    seen: int = 0
    changed: int = 0
    listed: int = 0
    unreached: int = 0
    throttled: int = 0
    paced_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def _sync_connections(names: list[str], *, deadline: float | None = None) -> _Outcome:
    """Fetch every connection at once, write batches as they arrive.

    A connection paced by SCP's request limit past `deadline` (epoch seconds) stops reading
    details and reports how many it did not reach; that is no failure.
    """
    # Two batches waiting per connection: reading runs ahead of writing, never far ahead.
    out = Handoff(maxsize=2 * max(1, len(names)))
    outcome = _Outcome()
    try:
        threads = _fetches_start(names, deadline=deadline, out=out, errors=outcome.errors)
        pending = len(threads)
        while pending:
            item = out.get()
            if isinstance(item, DetailBatch):
                outcome.changed += batch_write(item)
                outcome.seen += len(item.details)
                continue
            pending -= 1
            _fetch_ended(item, outcome)
    finally:
        out.close()
    for thread in threads:
        thread.join()
    # Keep the order of the connections in the messages, whatever order they ended in.
    outcome.errors.sort(key=lambda line: names.index(line.split(":", 1)[0]) if ":" in line else 0)
    return outcome


def _fetches_start(
    names: list[str], *, deadline: float | None, out: queue.Queue, errors: list[str]
) -> list[threading.Thread]:
    """Start one fetch thread per usable connection; an unusable one goes to `errors`."""
    concurrency = max(1, settings.SCP_SYNC_CONCURRENCY)
    batch_size = max(1, settings.SCP_SYNC_BATCH_SIZE)
    threads = []
    for name in names:
        try:
            pool = client_pool_for(name, concurrency + 1, deadline)
        except ConnectionUnavailable as exc:
            errors.append(f"{name}: {exc}")
            continue
        thread = threading.Thread(
            target=connection_fetch,
            args=(name, pool, concurrency, batch_size, out, _last_synced(name)),
            name=f"sync-{name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads


def _fetch_ended(done: FetchDone, outcome: _Outcome) -> None:
    """Count a connection's ended fetch; after a complete list, mark what it no longer holds."""
    outcome.throttled += done.throttled
    outcome.paced_seconds += done.paced_seconds
    if done.error:
        outcome.errors.append(_sync_error_text(done.name, done.exc))
        return
    outcome.listed += len(done.listed_ids)
    outcome.unreached += done.unreached
    services_mark_gone(name=done.name, listed_ids=done.listed_ids)
    connection_versions_refresh(name=done.name)


def _sync_error_text(name: str, exc: BaseException | None) -> str:
    """One connection's failure as the run keeps it: its name, then what went wrong."""
    if isinstance(exc, ScpError):
        return f"{name}: {scp_error_text(exc)}"
    return _("%(name)s: the sync failed unexpectedly (%(kind)s).") % {
        "name": name,
        "kind": type(exc).__name__,
    }


def sync_pacing_lines(run: SyncRun) -> list[str]:
    """How SCP's request limit shaped a run, in words (the list page, the command)."""
    lines = []
    if run.throttled:
        lines.append(
            ngettext(
                "SCP throttled %(count)d request; the console slowed down and waited "
                "%(seconds)s s in all.",
                "SCP throttled %(count)d requests; the console slowed down and waited "
                "%(seconds)s s in all.",
                run.throttled,
            )
            % {"count": run.throttled, "seconds": f"{run.paced_seconds:.0f}"}
        )
    elif run.paced_seconds >= 1:
        lines.append(
            _("Paced by SCP's request limit: waited %(seconds)s s in all.")
            % {"seconds": f"{run.paced_seconds:.0f}"}
        )
    if run.services_unreached:
        lines.append(
            ngettext(
                "%(count)d service was not refreshed before the time ran out; the next "
                "refresh reads it first.",
                "%(count)d services were not refreshed before the time ran out; the next "
                "refresh reads them first.",
                run.services_unreached,
            )
            % {"count": run.services_unreached}
        )
    return lines


def sync_pacing(run: SyncRun | None) -> list[str]:
    """What the service list says of SCP's request limit: live while a sync runs, else the run's."""
    if run is None:
        return []
    if not run.is_running:
        return sync_pacing_lines(run)
    lines = []
    for name in connection_names() or ["default"]:
        state = budget_read(name)
        if state and time.time() - state.throttled_at < 600:
            lines.append(
                _(
                    "Paced by SCP's request limit: %(name)s gets about %(rate)s requests a "
                    "minute (SCP throttled it %(when)s s ago)."
                )
                % {
                    "name": name,
                    "rate": f"{state.rate:.0f}",
                    "when": f"{time.time() - state.throttled_at:.0f}",
                }
            )
    return lines


def sync_speaking(run_id: int | None) -> translation.override:
    """Translation for a sync run: the language saved by who asked for it, else the site's."""
    requested_by = SyncRun.objects.filter(pk=run_id).values_list("requested_by", flat=True)
    language = (
        Preference.objects.filter(user_id=requested_by.first())
        .values_list("language", flat=True)
        .first()
    )
    return translation.override(language or settings.LANGUAGE_CODE)


# --- Runs: one at a time ---------------------------------------------------------------------


def _stale_claims_release() -> int:
    """Release the claim of a run whose worker died mid-sync (older than any live task)."""
    return SyncRun.objects.filter(active=True, started_at__lt=timezone.now() - _STALE_AFTER).update(
        active=None,
        finished_at=timezone.now(),
        errors=[_("This refresh stopped without finishing (its worker was lost).")],
    )


def sync_run_claim(*, run: SyncRun | None) -> SyncRun:
    """Claim the one sync slot for `run` (or a new run); SyncAlreadyRunning when it is taken.

    The database decides: a unique constraint admits one row with `active` set, so a manual
    refresh and a scheduled one never run at once, on any number of machines.
    """
    _stale_claims_release()
    now = timezone.now()
    try:
        with transaction.atomic():
            if run is None:
                return SyncRun.objects.create(active=True, started_at=now)
            claimed = SyncRun.objects.filter(
                pk=run.pk, active__isnull=True, finished_at__isnull=True
            ).update(active=True, started_at=now)
    except IntegrityError:
        raise SyncAlreadyRunning(_("Another refresh from SCP is running.")) from None
    if not claimed:
        raise SyncAlreadyRunning(
            _("Sync run %(number)s has already run or is running.") % {"number": run.pk}
        )
    run.refresh_from_db()
    return run


def services_sync(*, run: SyncRun | None = None, deadline: float | None = None) -> SyncRun:
    """Refresh every connection; failures are kept on the run, one sentence per connection.

    Paced by each connection's request budget (people's calls first); past `deadline` (epoch
    seconds; the task's time limit) the services not read yet are left for the next sync,
    which reads them first. Raises SyncAlreadyRunning when another sync holds the claim.
    """
    run = sync_run_claim(run=run)
    try:
        outcome = _sync_connections(connection_names() or ["default"], deadline=deadline)
    except BaseException:
        SyncRun.objects.filter(pk=run.pk).update(
            active=None,
            finished_at=timezone.now(),
            errors=[_("The refresh stopped with an unexpected error; see the worker's log.")],
        )
        raise
    run.services_seen = outcome.seen
    run.services_changed = outcome.changed
    run.services_listed = outcome.listed
    run.services_unreached = outcome.unreached
    run.throttled = outcome.throttled
    run.paced_seconds = round(outcome.paced_seconds, 1)
    run.errors = outcome.errors
    run.finished_at = timezone.now()
    run.active = None
    run.save()
    return run


def sync_deadline() -> float:
    """When a sync task stops reading details (epoch seconds): well before its soft time limit,
    leaving time to write what it read."""
    return time.time() + SYNC_TIME_LIMIT_SECONDS - 60 - _WRITE_MARGIN_SECONDS


def services_sync_scheduled(*, deadline: float | None = None) -> SyncRun | None:
    """The sync Celery beat starts: skipped (None) while another one runs."""
    try:
        return services_sync(deadline=deadline)
    except SyncAlreadyRunning:
        logger.info("scheduled sync skipped: another refresh is running")
        return None


def services_sync_request(*, requested_by) -> SyncRun:
    """Start a refresh in a worker, unless one started in the last two minutes is running."""
    from console.dataflow.work.queueing import task_send

    recent = timezone.now() - timedelta(minutes=2)
    running = SyncRun.objects.filter(finished_at__isnull=True, requested_at__gte=recent).first()
    if running is not None:
        return running
    run = SyncRun.objects.create(requested_by=requested_by, dispatched_at=timezone.now())

    def _send() -> None:
        if not task_send(SYNC_TASK, run.pk):
            SyncRun.objects.filter(pk=run.pk).update(
                finished_at=timezone.now(),
                errors=[_("The task queue is unreachable; try again when the workers are back.")],
            )

    transaction.on_commit(_send)
    return run
