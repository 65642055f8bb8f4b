"""Import and refresh services from SCP (`manage.py sync_services`, "Refresh from SCP").

At scale a sync overlaps its calls: per connection, the list pages, the details and the
versions on offer are fetched by a bounded pool of threads (`SCP_SYNC_CONCURRENCY`), each
with a client of its own (a client is thread-unsafe; each request is signed afresh). Every
connection is fetched in a thread of its own, and the calling thread writes whatever any
connection has fetched, in batches of `SCP_SYNC_BATCH_SIZE` services per transaction: one
connection's failure or slowness never holds back the others' writes, and only the calling
thread touches the database.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.connections.budget import ConnectionPacer, budget_read
from console.dataflow.connections.clients import (
    ConnectionUnavailable,
    connection_names,
    scp_client_for,
)
from console.dataflow.connections.scpcheck import connection_versions_refresh
from console.dataflow.inventory.revisions import detail_is_stale, service_apply_detail
from console.dataflow.models import Preference, Service, SyncRun
from console.dataflow.words.scp_text import scp_error_text
from console.scp import ScpClient, ScpError, ScpThrottled, ServiceDetail, ServiceSummary

logger = logging.getLogger(__name__)

SYNC_TASK = "dataflow.services_sync"
SCHEDULED_SYNC_TASK = "dataflow.services_sync_scheduled"
# A sync task is killed by Celery after this long; a run claimed longer ago than this (plus a
# margin) belongs to a dead worker, and its claim is released.
SYNC_TIME_LIMIT_SECONDS = 900
_STALE_AFTER = timedelta(seconds=SYNC_TIME_LIMIT_SECONDS + 60)
# A sync stops reading details this long before its soft time limit, to write what it read.
_WRITE_MARGIN_SECONDS = 90
# The documented default page size of SCP's list.
_PAGE_SIZE = 20
_MAX_PAGES = 1000


class SyncAlreadyRunning(Exception):
    """Another sync holds the claim: two syncs never run at once."""


# --- Fetching (threads; no database) ------------------------------------------------------


class _ClientPool:
    """One client per thread, built up front by the caller (building one may read the database).

    A connection's fetch uses its own thread and `SCP_SYNC_CONCURRENCY` pool threads: one
    client more than the concurrency. The clients share one pacer: the connection's request
    budget, taken as a background caller (people's calls first).
    """

    def __init__(self, clients: list[ScpClient], pacer: ConnectionPacer | None = None) -> None:
        self.pacer = pacer
        self._free = list(clients)
        self._all = list(clients)
        self._local = threading.local()
        self._lock = threading.Lock()

    def get(self) -> ScpClient:
        """The calling thread's own client."""
        client = getattr(self._local, "client", None)
        if client is None:
            with self._lock:
                client = self._free.pop()
            self._local.client = client
        return client

    def close(self) -> None:
        """Close every client's HTTP session."""
        for client in self._all:
            client.close()


def _offered_versions(client: ScpClient, data_flow_id: str) -> dict[str, list[str]]:
    try:
        offered = client.sub_versions(data_flow_id)
    except ScpError as exc:
        # Versions on offer are a help for the form, not a reason to fail the import.
        logger.warning("sub-versions of data flow %s unavailable: %s", data_flow_id, exc.code)
        return {}
    return {
        "nifi": list(offered.nifi),
        "nifi_registry": list(offered.nifi_registry),
        "zookeeper": list(offered.zookeeper),
    }


def _list_all(pool: _ClientPool, executor: ThreadPoolExecutor) -> list[ServiceSummary]:
    """Every service the connection lists: the first page, then the rest at once.

    Guess: SCP pages by `page * size` and may ignore `size`; the number of items on the first
    page is taken as the real page size, and after the pages fetched at once the list is read
    on, one page at a time, until a page is short or brings nothing new, or the total is reached
    (a list that moved while it was read still ends complete).
    """
    first, total = pool.get().services_page(page=0, size=_PAGE_SIZE)
    services: list[ServiceSummary] = []
    seen: set[str] = set()

    def take(items: list[ServiceSummary]) -> bool:
        fresh = [item for item in items if not item.id or item.id not in seen]
        services.extend(fresh)
        seen.update(item.id for item in fresh)
        return bool(fresh)

    if not take(first) or (total is not None and len(services) >= total):
        return services
    next_page = 1
    if total is not None:
        pages = min(math.ceil(total / len(first)), _MAX_PAGES)
        fetched = executor.map(
            lambda page: pool.get().services_page(page=page, size=_PAGE_SIZE)[0],
            range(1, pages),
        )
        for items in fetched:
            take(items)
        next_page = pages
    for page in range(next_page, _MAX_PAGES):
        if total is not None and len(services) >= total:
            break
        items, total = pool.get().services_page(page=page, size=_PAGE_SIZE)
        if not take(items) or (total is None and len(items) < len(first)):
            break  # nothing new, or a short page of a list that names no total
    return services


@dataclass
class _Batch:
    """Details fetched for one connection, ready to be written."""

    name: str
    details: list[tuple[str, ServiceDetail]] = field(default_factory=list)
    offered: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # When reading this batch's details began (`timezone.now()` before the first request whose
    # answer is in it; the list's first page is a safe choice). A service the console stored
    # after that moment keeps what it holds: the detail may predate that write. None: unknown,
    # and only SCP's `modified_dt` tells an older detail.
    read_started: datetime | None = None


@dataclass
class _Done:
    """A connection's fetch has ended: the ids it listed, or the error that stopped it.

    `unreached` services were listed but not read before the sync's time ran out (SCP's
    request limit paced it): they are refreshed first next time.
    """

    name: str
    listed_ids: set[str] = field(default_factory=set)
    error: str = ""
    exc: BaseException | None = None
    unreached: int = 0
    throttled: int = 0
    paced_seconds: float = 0.0


def _fetch_connection(
    name: str,
    pool: _ClientPool,
    concurrency: int,
    batch_size: int,
    out: queue.Queue,
    last_synced: dict[str, float] | None = None,
) -> None:
    """List one connection and fetch every detail; puts _Batch items, then one _Done.

    Details are read oldest-refreshed first (`last_synced`: epoch seconds by SCP id, none for
    a new service), so that a sync the request limit cuts short goes on next time where it
    stopped.
    """
    done = _Done(name)
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix=f"sync-{name}") as executor:
            try:
                summaries = _list_all(pool, executor)
                done.listed_ids = {summary.id for summary in summaries}
                order = sorted(summaries, key=lambda s: (last_synced or {}).get(s.id, 0.0))
                done.unreached = _fetch_details(pool, executor, order, name, batch_size, out)
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
    except ScpError as exc:
        # Worded by the writer: this thread does not share the run's active language.
        done.error, done.exc = "scp", exc
    except Exception as exc:  # a thread must always report, or the writer would wait forever
        logger.exception("sync of connection %s failed", name)
        done.error, done.exc = "unexpected", exc
    finally:
        if pool.pacer is not None:
            done.throttled, done.paced_seconds = pool.pacer.throttled, pool.pacer.waited
        pool.close()
        out.put(done)


def _read_detail(client: ScpClient, scp_id: str) -> tuple[datetime, ServiceDetail]:
    """One service's detail, with the moment its request started (newer writes win over it)."""
    started = timezone.now()
    return started, client.get_service(scp_id)


def _fetch_details(
    pool: _ClientPool,
    executor: ThreadPoolExecutor,
    summaries: list[ServiceSummary],
    name: str,
    batch_size: int,
    out: queue.Queue,
) -> int:
    """Read every listed service's detail into batches; how many the time limit left unread."""
    details = [
        executor.submit(lambda sid: _read_detail(pool.get(), sid), summary.id)
        for summary in summaries
    ]
    offered: dict[str, Future] = {}
    batch = _Batch(name)
    unreached = 0
    for summary, future in zip(summaries, details, strict=True):
        try:
            started, detail = future.result()
        except ScpThrottled as exc:
            if not exc.local:
                raise
            unreached += 1  # the sync's time ran out waiting for SCP's request limit
            continue
        flow = detail.data_flow_id
        if flow and flow not in offered:
            # Once per data flow, whichever service shows it first.
            offered[flow] = executor.submit(lambda f: _offered_versions(pool.get(), f), flow)
        batch.details.append((summary.id, detail))
        if batch.read_started is None or started < batch.read_started:
            batch.read_started = started
        if len(batch.details) >= batch_size:
            out.put(_with_offered(batch, offered))
            batch = _Batch(name)
    if batch.details:
        out.put(_with_offered(batch, offered))
    return unreached


def _with_offered(batch: _Batch, offered: dict[str, Future]) -> _Batch:
    """The batch with the versions on offer of its data flows (waited for here, in the fetcher)."""
    for _scp_id, detail in batch.details:
        flow = detail.data_flow_id
        if flow and flow not in batch.offered:
            batch.offered[flow] = offered[flow].result()
    return batch


# --- Writing (the calling thread) ----------------------------------------------------------


def _write_batch(batch: _Batch) -> int:
    """Store one batch in one transaction; how many services are new, returned or changed."""
    changed = 0
    ids = [scp_id for scp_id, _detail in batch.details]
    with transaction.atomic():
        existing = {
            service.scp_id: service
            for service in Service.objects.select_for_update().filter(
                connection_name=batch.name, scp_id__in=ids
            )
        }
        for scp_id, detail in batch.details:
            service = existing.get(scp_id) or Service(connection_name=batch.name, scp_id=scp_id)
            is_new = service.pk is None
            returned = service.gone_at is not None
            service.gone_at = None
            service.offered_versions = batch.offered.get(detail.data_flow_id, {})
            if detail_is_stale(service=service, detail=detail, read_at=batch.read_started):
                # Older than what the console holds: only "still listed" is news.
                service.save(update_fields=["gone_at", "offered_versions"])
                changed += returned
                continue
            applied = service_apply_detail(
                service=service, detail=detail, read_at=batch.read_started
            )
            if applied or is_new or returned:
                changed += 1
    return changed


def _pool_for(name: str, count: int, deadline: float | None) -> _ClientPool:
    """`count` clients of one connection sharing one background pacer, until `deadline`."""
    pacer = ConnectionPacer(name, background=True, max_wait=math.inf, deadline=deadline)
    return _ClientPool([scp_client_for(name, pacer=pacer) for _number in range(count)], pacer)


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
    concurrency = max(1, settings.SCP_SYNC_CONCURRENCY)
    batch_size = max(1, settings.SCP_SYNC_BATCH_SIZE)
    out: queue.Queue = queue.Queue()
    outcome = _Outcome()
    threads = []
    for name in names:
        try:
            pool = _pool_for(name, concurrency + 1, deadline)
        except ConnectionUnavailable as exc:
            outcome.errors.append(f"{name}: {exc}")
            continue
        thread = threading.Thread(
            target=_fetch_connection,
            args=(name, pool, concurrency, batch_size, out, _last_synced(name)),
            name=f"sync-{name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    pending = len(threads)
    while pending:
        item = out.get()
        if isinstance(item, _Batch):
            outcome.changed += _write_batch(item)
            outcome.seen += len(item.details)
            continue
        pending -= 1
        outcome.throttled += item.throttled
        outcome.paced_seconds += item.paced_seconds
        if item.error:
            outcome.errors.append(_sync_error_text(item.name, item.exc))
            continue
        outcome.listed += len(item.listed_ids)
        outcome.unreached += item.unreached
        services_mark_gone(name=item.name, listed_ids=item.listed_ids)
        connection_versions_refresh(name=item.name)
    for thread in threads:
        thread.join()
    # Keep the order of the connections in the messages, whatever order they ended in.
    outcome.errors.sort(key=lambda line: names.index(line.split(":", 1)[0]) if ":" in line else 0)
    return outcome


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


def services_mark_gone(*, name: str, listed_ids: set[str]) -> int:
    """Mark the services of `name` that a complete list did not hold; how many were marked."""
    return (
        Service.objects.filter(connection_name=name, gone_at__isnull=True)
        .exclude(scp_id__in=listed_ids)
        .update(gone_at=timezone.now())
    )


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
