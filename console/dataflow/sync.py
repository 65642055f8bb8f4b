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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from console.dataflow.connections import ConnectionUnavailable, connection_names, scp_client_for
from console.dataflow.models import Preference, Service, SyncRun
from console.dataflow.revisions import service_apply_detail
from console.dataflow.scp_text import scp_error_text
from console.dataflow.scpcheck import connection_versions_refresh
from console.scp import ScpClient, ScpError, ServiceDetail, ServiceSummary

logger = logging.getLogger(__name__)

SYNC_TASK = "dataflow.services_sync"
SCHEDULED_SYNC_TASK = "dataflow.services_sync_scheduled"
# A sync task is killed by Celery after this long; a run claimed longer ago than this (plus a
# margin) belongs to a dead worker, and its claim is released.
SYNC_TIME_LIMIT_SECONDS = 900
_STALE_AFTER = timedelta(seconds=SYNC_TIME_LIMIT_SECONDS + 60)
# The documented default page size of SCP's list.
_PAGE_SIZE = 20
_MAX_PAGES = 1000


class SyncAlreadyRunning(Exception):
    """Another sync holds the claim: two syncs never run at once."""


# --- Fetching (threads; no database) ------------------------------------------------------


class _ClientPool:
    """One client per thread, built up front by the caller (building one may read the database).

    A connection's fetch uses its own thread and `SCP_SYNC_CONCURRENCY` pool threads: one
    client more than the concurrency.
    """

    def __init__(self, clients: list[ScpClient]) -> None:
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
    on, one page at a time, until a page brings nothing new or `total_count` is reached (a
    list that moved while it was read still ends complete).
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
        if not take(items):
            break
    return services


@dataclass
class _Batch:
    """Details fetched for one connection, ready to be written."""

    name: str
    details: list[tuple[str, ServiceDetail]] = field(default_factory=list)
    offered: dict[str, dict[str, list[str]]] = field(default_factory=dict)


@dataclass
class _Done:
    """A connection's fetch has ended: the ids it listed, or the error that stopped it."""

    name: str
    listed_ids: set[str] = field(default_factory=set)
    error: str = ""
    exc: BaseException | None = None


def _fetch_connection(
    name: str, pool: _ClientPool, concurrency: int, batch_size: int, out: queue.Queue
) -> None:
    """List one connection and fetch every detail; puts _Batch items, then one _Done."""
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix=f"sync-{name}") as executor:
            try:
                summaries = _list_all(pool, executor)
                details = [
                    executor.submit(lambda sid: pool.get().get_service(sid), summary.id)
                    for summary in summaries
                ]
                offered: dict[str, Future] = {}
                batch = _Batch(name)
                for summary, future in zip(summaries, details, strict=True):
                    detail = future.result()
                    flow = detail.data_flow_id
                    if flow and flow not in offered:
                        # Once per data flow, whichever service shows it first.
                        offered[flow] = executor.submit(
                            lambda f: _offered_versions(pool.get(), f), flow
                        )
                    batch.details.append((summary.id, detail))
                    if len(batch.details) >= batch_size:
                        out.put(_with_offered(batch, offered))
                        batch = _Batch(name)
                if batch.details:
                    out.put(_with_offered(batch, offered))
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
        out.put(_Done(name, listed_ids={summary.id for summary in summaries}))
    except ScpError as exc:
        # Worded by the writer: this thread does not share the run's active language.
        out.put(_Done(name, error="scp", exc=exc))
    except Exception as exc:  # a thread must always report, or the writer would wait forever
        logger.exception("sync of connection %s failed", name)
        out.put(_Done(name, error="unexpected", exc=exc))
    finally:
        pool.close()


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
            if service_apply_detail(service=service, detail=detail) or is_new or returned:
                changed += 1
    return changed


def _clients_for(name: str, count: int) -> list[ScpClient]:
    return [scp_client_for(name) for _number in range(count)]


def _sync_connections(names: list[str]) -> tuple[int, int, list[str], dict[str, int]]:
    """Fetch every connection at once, write batches as they arrive; (seen, changed, errors, …)."""
    concurrency = max(1, settings.SCP_SYNC_CONCURRENCY)
    batch_size = max(1, settings.SCP_SYNC_BATCH_SIZE)
    out: queue.Queue = queue.Queue()
    errors: list[str] = []
    threads = []
    for name in names:
        try:
            pool = _ClientPool(_clients_for(name, concurrency + 1))
        except ConnectionUnavailable as exc:
            errors.append(f"{name}: {exc}")
            continue
        thread = threading.Thread(
            target=_fetch_connection,
            args=(name, pool, concurrency, batch_size, out),
            name=f"sync-{name}",
            daemon=True,
        )
        thread.start()
        threads.append(thread)
    seen = changed = 0
    per_name: dict[str, int] = {}
    pending = len(threads)
    failed: set[str] = set()
    while pending:
        item = out.get()
        if isinstance(item, _Batch):
            changed += _write_batch(item)
            seen += len(item.details)
            per_name[item.name] = per_name.get(item.name, 0) + len(item.details)
            continue
        pending -= 1
        if item.error:
            errors.append(_sync_error_text(item.name, item.exc))
            failed.add(item.name)
            continue
        services_mark_gone(name=item.name, listed_ids=item.listed_ids)
        connection_versions_refresh(name=item.name)
    for thread in threads:
        thread.join()
    # Keep the order of the connections in the messages, whatever order they ended in.
    errors.sort(key=lambda line: names.index(line.split(":", 1)[0]) if ":" in line else 0)
    return seen, changed, errors, per_name


def _sync_error_text(name: str, exc: BaseException | None) -> str:
    """One connection's failure as the run keeps it: its name, then what went wrong."""
    if isinstance(exc, ScpError):
        return f"{name}: {scp_error_text(exc)}"
    return _("%(name)s: the sync failed unexpectedly (%(kind)s).") % {
        "name": name,
        "kind": type(exc).__name__,
    }


def sync_speaking(run_id: int | None) -> translation.override:
    """Translation for a sync run: the language saved by who asked for it, else the site's."""
    requested_by = SyncRun.objects.filter(pk=run_id).values_list("requested_by", flat=True)
    language = (
        Preference.objects.filter(user_id=requested_by.first())
        .values_list("language", flat=True)
        .first()
    )
    return translation.override(language or settings.LANGUAGE_CODE)


def services_sync_connection(*, name: str) -> tuple[int, int]:
    """Import or refresh every service one connection lists; (seen, changed) counts.

    Services of this connection that the complete list no longer holds are marked gone
    (never deleted: their history stays); one that is listed again is no longer gone.
    Raises ScpError or ConnectionUnavailable when the connection cannot be read.
    """
    concurrency = max(1, settings.SCP_SYNC_CONCURRENCY)
    out: queue.Queue = queue.Queue()
    pool = _ClientPool(_clients_for(name, concurrency + 1))
    thread = threading.Thread(
        target=_fetch_connection,
        args=(name, pool, concurrency, max(1, settings.SCP_SYNC_BATCH_SIZE), out),
        daemon=True,
    )
    thread.start()
    seen = changed = 0
    while True:
        item = out.get()
        if isinstance(item, _Batch):
            changed += _write_batch(item)
            seen += len(item.details)
            continue
        thread.join()
        if item.exc is not None:
            raise item.exc
        services_mark_gone(name=name, listed_ids=item.listed_ids)
        connection_versions_refresh(name=name)
        return seen, changed


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


def services_sync(*, run: SyncRun | None = None) -> SyncRun:
    """Refresh every connection; failures are kept on the run, one sentence per connection.

    Raises SyncAlreadyRunning when another sync holds the claim.
    """
    run = sync_run_claim(run=run)
    try:
        seen, changed, errors, _per_name = _sync_connections(connection_names() or ["default"])
    except BaseException:
        SyncRun.objects.filter(pk=run.pk).update(
            active=None,
            finished_at=timezone.now(),
            errors=[_("The refresh stopped with an unexpected error; see the worker's log.")],
        )
        raise
    run.services_seen = seen
    run.services_changed = changed
    run.errors = errors
    run.finished_at = timezone.now()
    run.active = None
    run.save()
    return run


def services_sync_scheduled() -> SyncRun | None:
    """The sync Celery beat starts: skipped (None) while another one runs."""
    try:
        return services_sync()
    except SyncAlreadyRunning:
        logger.info("scheduled sync skipped: another refresh is running")
        return None


def services_sync_request(*, requested_by) -> SyncRun:
    """Start a refresh in a worker, unless one started in the last two minutes is running."""
    from celery import current_app

    recent = timezone.now() - timedelta(minutes=2)
    running = SyncRun.objects.filter(finished_at__isnull=True, requested_at__gte=recent).first()
    if running is not None:
        return running
    run = SyncRun.objects.create(requested_by=requested_by)

    def _send() -> None:
        try:
            current_app.send_task(SYNC_TASK, args=[run.pk])
        except Exception as exc:  # kombu raises several kinds when the broker is unreachable
            logger.warning("could not enqueue the sync: %s", exc)
            SyncRun.objects.filter(pk=run.pk).update(
                finished_at=timezone.now(),
                errors=[_("The task queue is unreachable; try again when the workers are back.")],
            )

    transaction.on_commit(_send)
    return run
