"""How the client paces its calls: a budget shared by every process that talks to one account.

The client knows no storage: the caller hands it a `Pacer`, which blocks until a request may
go and hears how SCP answered. `console.dataflow.connections.budget` keeps the shared budget.
"""

from __future__ import annotations

from typing import Protocol


class Pacer(Protocol):
    """The request budget of one SCP connection, as the client sees it."""

    def acquire(self) -> None:
        """Block until one request may go; raise ScpThrottled(local=True) when the wait would
        be longer than the caller can afford (the error's `retry_after` says how long)."""

    def report(self, *, throttled: bool, retry_after: float | None = None) -> None:
        """What SCP answered the request: a throttling answer slows every process down."""
