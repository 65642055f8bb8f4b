"""Handing a change's due step to the broker: once per step, at once, never waiting long.

The row knows when its next step is due (`next_poll_at`) and when a message for it was last
sent (`dispatched_at`); `change_dispatch` sends one only when none is out for the step now due.
The workers' dispatcher (work/dispatch.py) calls `changes_dispatch_due` every tick;
the pipeline calls `change_dispatch` when a step is due at once.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import current_app
from django.db.models import F, Q
from django.utils import timezone

from console.dataflow.models import ChangeRequest

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status

# A message sent for a due step that has not been taken this long is sent again (lost with a
# broker outage, or with a worker that died holding it).
REDISPATCH_AFTER = timedelta(seconds=30)
# While the queue still holds messages, a step not taken yet is waiting its turn behind a burst
# (a copy would only queue behind it, and make the queue longer): it is sent again only after
# this long. A message a dead worker held comes back once the queue is empty, or after this.
REDISPATCH_BACKLOGGED_AFTER = timedelta(minutes=5)
_SEND = {
    # A scheduled change's window has come: released (re-planned and queued) by a worker.
    Status.SCHEDULED: "dataflow.change_release",
    Status.QUEUED: "dataflow.change_send",
    Status.ACCEPTED: "dataflow.change_track",
    Status.UPDATING: "dataflow.change_track",
}


def task_send(task_name: str, *args: int) -> bool:
    """Hand a task to the broker at once, or say it could not (never waits long for one).

    No result is asked for (a Redis result backend would otherwise be dialled, and retried,
    on every send) and the broker is tried twice at most: a broker that is down must not hold
    up a person's page; the dispatcher sends what is due when it is back.
    """
    try:
        current_app.send_task(
            task_name,
            args=list(args),
            ignore_result=True,
            retry=True,
            retry_policy={"max_retries": 1, "interval_start": 0.2, "interval_step": 0.2},
        )
    except Exception as exc:  # kombu raises several kinds when the broker is unreachable
        logger.warning("could not enqueue %s%s: %s", task_name, list(args), exc)
        return False
    return True


def queue_backlogged() -> bool:
    """Whether the changes' queue holds messages waiting for a worker (False when the broker
    does not say: a copy too many is harmless, a lost step is not)."""
    try:
        route = current_app.amqp.router.route({}, _SEND[Status.QUEUED])
        with current_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1)
            with conn.channel() as channel:
                declared = channel.queue_declare(queue=route["queue"].name, passive=True)
        return bool(declared.message_count)
    except Exception as exc:  # kombu raises several kinds when the broker is unreachable
        logger.debug("could not read the queue's length: %s", exc)
        return False


def change_dispatch(
    change_id: int, *, now=None, redispatch_after: timedelta = REDISPATCH_AFTER
) -> bool | None:
    """Send the task for a change's due step, unless one was sent for it already (and not
    taken for `redispatch_after`).

    True: sent; None: nothing to send (not due, final, or a message is out); False: the
    broker did not take it (the next tick tries again).
    """
    now = now or timezone.now()
    status = ChangeRequest.objects.filter(pk=change_id).values_list("status", flat=True).first()
    if status not in _SEND:
        return None
    claimed = (
        ChangeRequest.objects.filter(pk=change_id, status=status)
        .filter(_due(now))
        .filter(_not_sent(now, redispatch_after))
        .update(dispatched_at=now)
    )
    if not claimed:
        return None
    if task_send(_SEND[status], change_id):
        return True
    ChangeRequest.objects.filter(pk=change_id, dispatched_at=now).update(dispatched_at=None)
    return False


def changes_dispatch_due(*, now=None) -> int:
    """Send a task for every change whose step is due and has no message yet; how many."""
    now = now or timezone.now()
    after = REDISPATCH_AFTER
    due = _due_ids(now, after)
    if any(sent_again for _, sent_again in due) and queue_backlogged():
        after = REDISPATCH_BACKLOGGED_AFTER
        due = _due_ids(now, after)
    return sum(bool(change_dispatch(pk, now=now, redispatch_after=after)) for pk, _ in due)


def _due_ids(now, redispatch_after: timedelta) -> list[tuple[int, bool]]:
    """The changes whose step is due and has no message out: (id, whether one was sent for
    this very step already, not taken yet)."""
    due = (
        ChangeRequest.objects.filter(status__in=list(_SEND))
        .filter(_due(now))
        .filter(_not_sent(now, redispatch_after))
        .values_list("pk", "dispatched_at", "next_poll_at")
    )
    return [
        (pk, sent is not None and (step is None or sent >= step)) for pk, sent, step in due[:500]
    ]


def _due(now) -> Q:
    return Q(next_poll_at__lte=now) | Q(next_poll_at__isnull=True)


def _not_sent(now, redispatch_after: timedelta = REDISPATCH_AFTER) -> Q:
    """No message for the step now due: none ever, one for an earlier step, or one lost."""
    return (
        Q(dispatched_at__isnull=True)
        | Q(dispatched_at__lt=F("next_poll_at"))
        | Q(dispatched_at__lt=now - redispatch_after)
    )
