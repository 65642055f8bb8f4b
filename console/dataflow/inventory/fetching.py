"""A sync's fetch of one connection, in threads of its own: the list, then every service's
detail and the versions on offer, handed to the writing thread in batches (no database)."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from console.dataflow.inventory.listing import ClientPool, services_list
from console.scp import ScpClient, ScpError, ScpThrottled, ServiceDetail, ServiceSummary

logger = logging.getLogger(__name__)


@dataclass
class DetailBatch:
    """Details fetched for one connection, ready to be written."""

    name: str
    details: list[tuple[str, ServiceDetail]] = field(default_factory=list)
    offered: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # When reading this batch's details began (`timezone.now()` before the first request whose
    # answer is in it; the list's first page is a safe choice). A service the console stored
    # after that moment keeps what it holds: the detail may predate that write. None: unknown,
    # and only SCP's `modified_dt` tells an older detail.
    read_started: datetime | None = None

    def add(self, scp_id: str, detail: ServiceDetail, started: datetime) -> None:
        """Add one service's detail, whose read started at `started`."""
        self.details.append((scp_id, detail))
        if self.read_started is None or started < self.read_started:
            self.read_started = started


class Handoff(queue.Queue):
    """The fetch threads' queue to the writing thread: bounded, so that reading waits for
    writing (memory holds a few batches, whatever the number of services); once the writer
    has stopped (`close`), a put is dropped instead of waiting for ever."""

    def __init__(self, maxsize: int) -> None:
        """A queue of at most `maxsize` items."""
        super().__init__(maxsize)
        self._closed = threading.Event()

    def put(self, item, block: bool = True, timeout: float | None = None) -> None:
        """Wait for room, unless the writer has stopped (then the item is dropped)."""
        while not self._closed.is_set():
            try:
                super().put(item, timeout=0.2)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        """The writer has stopped: let every waiting and later put go."""
        self._closed.set()


@dataclass
class FetchDone:
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


def connection_fetch(
    name: str,
    pool: ClientPool,
    concurrency: int,
    batch_size: int,
    out: queue.Queue,
    last_synced: dict[str, float] | None = None,
) -> None:
    """List one connection and fetch every detail; puts DetailBatch items, then one FetchDone.

    Details are read oldest-refreshed first (`last_synced`: epoch seconds by SCP id, none for
    a new service), so that a sync the request limit cuts short goes on next time where it
    stopped.
    """
    done = FetchDone(name)
    try:
        with ThreadPoolExecutor(concurrency, thread_name_prefix=f"sync-{name}") as executor:
            try:
                summaries = services_list(pool, executor)
                done.listed_ids = {summary.id for summary in summaries}
                order = sorted(summaries, key=lambda s: (last_synced or {}).get(s.id, 0.0))
                done.unreached = _fetch_details(
                    pool, executor, order, name, (batch_size, concurrency), out
                )
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
    pool: ClientPool,
    executor: ThreadPoolExecutor,
    summaries: list[ServiceSummary],
    name: str,
    sizes: tuple[int, int],
    out: queue.Queue,
) -> int:
    """Read every listed service's detail into batches; how many the time limit left unread.

    `sizes`: the batch size and the number of reads at once. Two batches' worth of reads (at
    least four per thread) are asked ahead of the one being filled, and a read is let go once
    batched: memory holds a few batches, not every service of the connection.
    """
    batch_size, concurrency = sizes
    ahead: deque[tuple[ServiceSummary, Future]] = deque()
    waiting = iter(summaries)

    def ask_next() -> None:
        summary = next(waiting, None)
        if summary is not None:
            read = executor.submit(lambda sid: _read_detail(pool.get(), sid), summary.id)
            ahead.append((summary, read))

    for _ in range(max(2 * batch_size, 4 * concurrency)):
        ask_next()
    offered = _OfferedVersions(pool, executor)
    batch = DetailBatch(name)
    unreached = 0
    while ahead:
        summary, future = ahead.popleft()
        ask_next()
        read = _read_in_time(future)
        if read is None:
            unreached += 1
            continue
        started, detail = read
        offered.ask(detail.data_flow_id)
        batch.add(summary.id, detail, started)
        if len(batch.details) >= batch_size:
            out.put(offered.filled(batch))
            batch = DetailBatch(name)
    if batch.details:
        out.put(offered.filled(batch))
    return unreached


def _read_in_time(future: Future) -> tuple[datetime, ServiceDetail] | None:
    """A detail read's result; None when the sync's time ran out waiting for SCP's request
    limit (SCP's own throttling answer is raised)."""
    try:
        return future.result()
    except ScpThrottled as exc:
        if not exc.local:
            raise
        return None


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


class _OfferedVersions:
    """The versions on offer of each data flow, asked once, whichever service shows it first."""

    def __init__(self, pool: ClientPool, executor: ThreadPoolExecutor) -> None:
        self._pool = pool
        self._executor = executor
        self._asked: dict[str, Future] = {}

    def ask(self, flow: str) -> None:
        """Ask for the versions on offer of `flow` (nothing when it has no id or was asked)."""
        if flow and flow not in self._asked:
            self._asked[flow] = self._executor.submit(
                lambda f: _offered_versions(self._pool.get(), f), flow
            )

    def filled(self, batch: DetailBatch) -> DetailBatch:
        """The batch with the versions on offer of its data flows (waited for here, in the
        fetcher)."""
        for _scp_id, detail in batch.details:
            flow = detail.data_flow_id
            if flow and flow not in batch.offered:
                batch.offered[flow] = self._asked[flow].result()
        return batch
