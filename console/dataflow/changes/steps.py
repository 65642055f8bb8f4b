"""What the pipeline's steps share: the tasks, handing a step to a worker, and the moves a
worker ends an attempt or a poll with (queued again, tracked, failed)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from console.dataflow.changes.language import change_speaking
from console.dataflow.changes.lifecycle import change_move, change_note
from console.dataflow.models import IN_FLIGHT, ChangeRequest
from console.dataflow.words.events import Said, said, said_english
from console.dataflow.words.scp_text import scp_error_sentence_said
from console.dataflow.work.queueing import change_dispatch
from console.scp import ScpError

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status


SEND_TASK = "dataflow.change_send"
TRACK_TASK = "dataflow.change_track"
# SCP's states of a service with an update under way.
BUSY_STATES = ("UPDATING", "EDITING")


def change_enqueue(task_name: str, change_id: int, countdown: float | None = None) -> bool:
    """Hand a change's step to a worker: now when it is due now; a later step (`countdown`)
    is sent by the workers' dispatcher when its time, booked in `next_poll_at`, comes.

    A broker outage leaves the change waiting, with a line on its timeline.
    """
    if countdown:
        return True
    sent = change_dispatch(change_id)
    if sent is False:
        with change_speaking(change_id):
            change_note(
                change_id,
                message=said(
                    "The task queue is unreachable right now; the change is kept and will be "
                    "handed to a worker as soon as the queue answers again."
                ),
            )
    return sent is not False


def retry_deadline(change: ChangeRequest):
    """When the change stops waiting out transient answers: set at the first one."""
    if change.retry_until is None:
        change.retry_until = timezone.now() + timedelta(minutes=settings.SCP_RETRY_PATIENCE_MINUTES)
        ChangeRequest.objects.filter(pk=change.pk, retry_until__isnull=True).update(
            retry_until=change.retry_until
        )
    return change.retry_until


def change_requeue(
    change: ChangeRequest, *, frm: str, reason: Said | str, wait: float | None = None
) -> None:
    """Put a change back in the queue for another attempt after a growing delay.

    A wait SCP asked for (Retry-After, or the request budget's) is obeyed when it is longer.
    """
    countdown = max(min(60.0, 2.0 * 2 ** max(0, change.attempts - 1)), wait or 0.0)
    countdown = round(countdown, 1)
    moved = change_move(
        change.pk,
        frm=frm,
        to=Status.QUEUED,
        message=said(
            "%(reason)s Trying again in %(seconds)s s (attempt %(number)s; the change waits "
            "up to %(minutes)s minutes for SCP).",
            reason=reason,
            seconds=f"{countdown:g}",
            number=change.attempts + 1,
            minutes=f"{settings.SCP_RETRY_PATIENCE_MINUTES:g}",
        ),
        next_poll_at=timezone.now() + timedelta(seconds=countdown),
        claimed_by="",
    )
    if moved:
        change_enqueue(SEND_TASK, change.pk, countdown=countdown)


def tracking_start(now) -> dict[str, Any]:
    """The row's fields of a change that starts being tracked `now`: deadline and first poll."""
    return {
        "track_deadline": now + timedelta(minutes=settings.SCP_TRACK_DEADLINE_MINUTES),
        "next_poll_at": now + timedelta(seconds=settings.SCP_TRACK_FIRST_POLL_SECONDS),
        "polls": 0,
        "poll_errors_in_a_row": 0,
    }


def change_fail(change: ChangeRequest, message: Said | str, *, error: dict[str, Any]) -> None:
    """End an in-flight change in Failed, saying why (`message`) and what went wrong (`error`)."""
    logger.warning(
        "change %s failed: %s",
        change.pk,
        said_english(message),
        extra={"change_id": change.pk, "global_request_id": error.get("global_request_id", "")},
    )
    change_move(
        change.pk,
        # A change awaiting approval was never handed to the pipeline: it cannot fail there.
        frm=[s for s in IN_FLIGHT if s != Status.AWAITING_APPROVAL],
        to=Status.FAILED,
        message=message,
        # The error box says the error's own sentence, else the timeline's.
        error=error if error.get("said") or error.get("message") else {**error, "said": message},
        claimed_by="",
    )


def error_record(exc: Exception) -> dict[str, Any]:
    """An error as stored with a change: SCP's fields verbatim, the message in words for people."""
    if isinstance(exc, ScpError):
        sentence = scp_error_sentence_said(exc)
        return {**exc.to_dict(), "said": sentence, "message": said_english(sentence)}
    return {"message": str(exc)}
