"""SCP's edge firewall: past a number of requests in a window, a 417 HTML "Request Rejected" page.

Source: live calls to SCP in 2026 (SCP_API.md §8): past roughly 80 requests in 60 s from one
client, the edge answered HTTP 417 with an HTML page naming a support id, not JSON. Off unless
the `edge_limit` switch sets one.
Guess: the window slides (the last `edge_window` seconds), and only requests it let through
count; every caller of the simulator is one client; the page's words follow the common
F5-style "Request Rejected" page that the report describes.
"""

from __future__ import annotations

import random
import threading
from collections import deque

EDGE_STATUS = 417
DEFAULT_WINDOW = 60.0

_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    "Please consult with your administrator.<br><br>Your support ID is: {support_id}<br><br>"
    "<a href='javascript:history.back();'>[Go Back]</a></body></html>"
)


def edge_page() -> str:
    """The HTML page the edge answers a throttled request with, with a fresh support id."""
    return _PAGE.format(support_id=random.randrange(10**18, 10**19))  # noqa: S311 (an id)


class EdgeLimiter:
    """Counts the requests let through in the last window; refuses past the limit."""

    def __init__(self) -> None:
        """No request seen yet."""
        self._lock = threading.Lock()
        self._passed: deque[float] = deque()
        self.refused = 0

    def admit(self, *, now: float, limit: int | None, window: float) -> bool:
        """Whether a request at `now` passes the edge; no limit lets everything through."""
        with self._lock:
            while self._passed and self._passed[0] <= now - window:
                self._passed.popleft()
            if limit is None:
                self._passed.append(now)
                return True
            if len(self._passed) >= limit:
                self.refused += 1
                return False
            self._passed.append(now)
            return True

    def reset(self) -> None:
        """Forget every request seen."""
        with self._lock:
            self._passed.clear()
            self.refused = 0
