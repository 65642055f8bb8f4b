"""What follows a change reaching a final status: one place, run by a Celery task after commit.

`lifecycle.change_move` dispatches `dataflow.change_finished` once per final move; the task
calls `change_finished`, which runs every registered follow-up in turn. A follow-up never fails the
pipeline: its own errors are logged and the next one runs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

logger = logging.getLogger(__name__)

FINISHED_TASK = "dataflow.change_finished"


# The follow-ups of a final change, in order, registered at start-up by the app's ready()
# (notifications, then the fleet's next step): the lifecycle never imports what follows it.
FOLLOWUPS: list[tuple[str, Callable[[int], object]]] = []


def followup_register(name: str, followup: Callable[[int], object]) -> None:
    """Add a follow-up (once per name) that runs with the id of every change that ends."""
    if all(known != name for known, _ in FOLLOWUPS):
        FOLLOWUPS.append((name, followup))


def change_finished(*, change_id: int) -> None:
    """Run every follow-up of a change that has just become final."""
    for name, followup in list(FOLLOWUPS):
        try:
            followup(change_id)
        except Exception:
            logger.exception(
                "follow-up %s of change %s failed", name, change_id, extra={"change_id": change_id}
            )


def change_finished_dispatch(change_id: int) -> None:
    """Hand the follow-ups to a worker; a broker outage only costs the follow-ups, logged
    (a fleet change takes its next step at the sweeper's next round)."""
    from console.dataflow.work.queueing import task_send

    task_send(FINISHED_TASK, change_id)
