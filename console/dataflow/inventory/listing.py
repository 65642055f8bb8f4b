"""A sync's paced clients, and the list of a connection's services read page by page.

The calling thread builds the pool (building a client may read the database); the listing
itself runs in the connection's fetch thread and its pool threads, and touches no database.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

from console.dataflow.connections.budget import ConnectionPacer
from console.dataflow.connections.clients import scp_client_for
from console.scp import ScpClient, ServiceSummary

# The documented default page size of SCP's list.
_PAGE_SIZE = 20
_MAX_PAGES = 1000


class ClientPool:
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


def client_pool_for(name: str, count: int, deadline: float | None) -> ClientPool:
    """`count` clients of one connection sharing one background pacer, until `deadline`."""
    pacer = ConnectionPacer(name, background=True, max_wait=math.inf, deadline=deadline)
    return ClientPool([scp_client_for(name, pacer=pacer) for _number in range(count)], pacer)


class _Listed:
    """The services listed so far, each id once, in the order SCP listed them."""

    def __init__(self) -> None:
        self.services: list[ServiceSummary] = []
        self._seen: set[str] = set()

    def take(self, items: list[ServiceSummary]) -> bool:
        """Add the items not listed yet (an item without an id always); whether any was new."""
        fresh = [item for item in items if not item.id or item.id not in self._seen]
        self.services.extend(fresh)
        self._seen.update(item.id for item in fresh)
        return bool(fresh)

    def reached(self, total: int | None) -> bool:
        """Whether the list holds as many services as SCP says it has."""
        return total is not None and len(self.services) >= total


def services_list(pool: ClientPool, executor: ThreadPoolExecutor) -> list[ServiceSummary]:
    """Every service the connection lists: the first page, then the rest at once.

    Guess: SCP pages by `page * size` and may ignore `size`; the number of items on the first
    page is taken as the real page size, and after the pages fetched at once the list is read
    on, one page at a time, until a page is short or brings nothing new, or the total is reached
    (a list that moved while it was read still ends complete).
    """
    first, total = pool.get().services_page(page=0, size=_PAGE_SIZE)
    listed = _Listed()
    if not listed.take(first) or listed.reached(total):
        return listed.services
    next_page = 1
    if total is not None:
        next_page = _pages_at_once(pool, executor, listed, total=total, page_size=len(first))
    _pages_one_by_one(pool, listed, start=next_page, total=total, page_size=len(first))
    return listed.services


def _pages_at_once(
    pool: ClientPool, executor: ThreadPoolExecutor, listed: _Listed, *, total: int, page_size: int
) -> int:
    """Read every page after the first that `total` implies, at once; the next page to read."""
    pages = min(math.ceil(total / page_size), _MAX_PAGES)
    fetched = executor.map(
        lambda page: pool.get().services_page(page=page, size=_PAGE_SIZE)[0],
        range(1, pages),
    )
    for items in fetched:
        listed.take(items)
    return pages


def _pages_one_by_one(
    pool: ClientPool, listed: _Listed, *, start: int, total: int | None, page_size: int
) -> None:
    """Read on from page `start` until the total is reached, or a page brings nothing new."""
    for page in range(start, _MAX_PAGES):
        if listed.reached(total):
            break
        items, total = pool.get().services_page(page=page, size=_PAGE_SIZE)
        if not listed.take(items) or (total is None and len(items) < page_size):
            break  # nothing new, or a short page of a list that names no total
