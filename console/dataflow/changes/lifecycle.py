"""The one owner of a change's status: moves along `models.LIFECYCLE`, and what people may do.

A change is born in `change_create` (its first status and event); every later status write
goes through `change_move`: a guarded update on the expected current
status plus its timeline event, in one transaction. Views and templates ask `change_actions`
and `change_stuck` instead of repeating the rules.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.changes.approvals import may_decide
from console.dataflow.changes.finished import change_finished_dispatch
from console.dataflow.models import (
    FINAL,
    INITIAL,
    TRANSITIONS,
    WITH_SCP,
    ChangeAttempt,
    ChangeEvent,
    ChangeRequest,
    TimelineEvent,
)
from console.dataflow.words.events import Said, is_said, said_english
from console.dataflow.work.workers import workers_alive

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status

# How long each in-flight status may last before the change page warns about it.
QUEUED_STUCK_AFTER = timedelta(seconds=60)
TRACKING_OVERDUE_AFTER = timedelta(seconds=90)


class IllegalTransition(Exception):
    """A move the lifecycle table does not allow: a bug in the caller, never a person's input."""


def _fields(fields: dict[str, Any]) -> dict[str, Any]:
    """An error given as `{"said": …}` also keeps its English sentence under "message"."""
    error = fields.get("error")
    if isinstance(error, dict) and is_said(error.get("said")):
        fields["error"] = {**error, "message": said_english(error["said"])}
    return fields


def change_create(
    *, status: str, message: Said | str, event_at=None, **fields: Any
) -> ChangeRequest:
    """A new change in one of `INITIAL`, with its first timeline event, in one transaction."""
    if status not in INITIAL:
        raise IllegalTransition(f"a change may not start as {status}")
    with transaction.atomic():
        change = ChangeRequest.objects.create(status=status, **_fields(fields))
        event = {"at": event_at} if event_at is not None else {}
        ChangeEvent.objects.create(
            change=change, status=status, **TimelineEvent.columns(message), **event
        )
    return change


def change_move(
    change_id: int,
    *,
    frm: str | Iterable[str],
    to: str,
    message: Said | str,
    **fields: Any,
) -> bool:
    """Move a change from one of `frm` to `to`, setting `fields`, and record `message`.

    False (and nothing written) when the change is no longer in `frm`: another worker, a
    person or the sweeper moved it first. Final statuses also erase the stored password.
    """
    sources = {frm} if isinstance(frm, str) else set(frm)
    for source in sources:
        if to not in TRANSITIONS[source]:
            raise IllegalTransition(f"a change may not move from {source} to {to}")
    if to in FINAL:
        fields.setdefault("finished_at", timezone.now())
        fields.setdefault("account_password_encrypted", "")
        fields.setdefault("next_poll_at", None)
    with transaction.atomic():
        moved = ChangeRequest.objects.filter(pk=change_id, status__in=sources).update(
            status=to, **_fields(fields)
        )
        event = TimelineEvent.columns(message)
        if moved:
            ChangeEvent.objects.create(change_id=change_id, status=to, **event)
            if to in FINAL:
                _attempts_close(change_id)
                transaction.on_commit(partial(change_finished_dispatch, change_id))
    if moved:
        logger.info(
            "change %s -> %s: %s",
            change_id,
            to,
            event["message"],
            extra={"change_id": change_id, "status": to},
        )
    return bool(moved)


def _attempts_close(change_id: int) -> None:
    """A final change has no attempt still "sending": one left open ended unanswered."""
    now = timezone.now()
    open_attempts = ChangeAttempt.objects.filter(change_id=change_id, finished_at__isnull=True)
    open_attempts.filter(put_sent=True).update(
        outcome=ChangeAttempt.Outcome.ANSWER_LOST, finished_at=now
    )
    open_attempts.update(outcome=ChangeAttempt.Outcome.NOT_SENT, finished_at=now)


def change_note(change_id: int, *, message: Said | str) -> None:
    """Add a line to a change's timeline without moving it (a retry, a poll that saw something)."""
    status = ChangeRequest.objects.filter(pk=change_id).values_list("status", flat=True).first()
    if status is not None:
        ChangeEvent.objects.create(
            change_id=change_id, status=status, **TimelineEvent.columns(message)
        )


@dataclass(frozen=True)
class Actions:
    """What a person may do with a change right now; the change page shows only these."""

    cancel: bool
    retry: bool
    abandon: bool
    # Four-eyes: approve or reject a waiting change (approvers other than its author), or
    # withdraw it (its author).
    decide: bool = False
    withdraw: bool = False
    # Send a change scheduled for a maintenance window now, saying why (admins).
    send_now: bool = False


def change_actions(change: ChangeRequest, user) -> Actions:
    """Cancel a queued change (admins, or its author); retry a failed one; abandon a stuck one.

    A change awaiting approval may be approved or rejected by an approver who is not its
    author, and withdrawn by its author.
    """
    waiting = change.status == Status.AWAITING_APPROVAL
    is_admin = user.has_perm("dataflow.edit_service")
    may_edit = is_admin or (
        change.kind == ChangeRequest.Kind.HOST_ALIASES
        and user.has_perm("dataflow.edit_host_aliases")
    )
    return Actions(
        cancel=change.status in (Status.QUEUED, Status.SCHEDULED)
        and (is_admin or change.author_id == user.pk),
        retry=change.status == Status.FAILED and may_edit,
        abandon=is_admin and change.status in WITH_SCP and change_stuck(change) is not None,
        decide=waiting and may_decide(user, change.author_id),
        withdraw=waiting and change.author_id == user.pk,
        send_now=is_admin and change.status == Status.SCHEDULED,
    )


def change_waiting(change: ChangeRequest, last_attempt=None, now=None) -> str | None:
    """Why the change waits right now, when it waits for SCP rather than for a worker.

    Derived from the row: a queued change whose last attempt SCP throttled or turned away for
    a while, or a tracked change whose last reads failed, and the time of its next try.
    """
    now = now or timezone.now()
    if change.next_poll_at is None or change.next_poll_at <= now:
        return None
    seconds = max(1, round((change.next_poll_at - now).total_seconds()))
    if change.status == Status.QUEUED and last_attempt is not None:
        if last_attempt.outcome == "throttled":
            return ngettext(
                "SCP is throttling requests; waiting %(seconds)d second before trying again.",
                "SCP is throttling requests; waiting %(seconds)d seconds before trying again.",
                seconds,
            ) % {"seconds": seconds}
        if last_attempt.outcome == "transient":
            return ngettext(
                "SCP did not take the update this time; waiting %(seconds)d second before "
                "trying again.",
                "SCP did not take the update this time; waiting %(seconds)d seconds before "
                "trying again.",
                seconds,
            ) % {"seconds": seconds}
    if change.status in (Status.ACCEPTED, Status.UPDATING) and change.poll_errors_in_a_row:
        return ngettext(
            "The last read of the service failed; reading it again in %(seconds)d second.",
            "The last read of the service failed; reading it again in %(seconds)d seconds.",
            seconds,
        ) % {"seconds": seconds}
    return None


def change_stuck(change: ChangeRequest, now=None) -> str | None:
    """Why an in-flight change has taken longer than expected, or None when it has not.

    Said from what the console knows: whether any worker beats, and whether the process
    holding the change does.
    """
    now = now or timezone.now()
    if change.status in (Status.QUEUED, Status.SCHEDULED):
        # A scheduled change is due at its window's start: no worker may be there to take it.
        return _stuck_queued(change, now)
    if change.status == Status.SUBMITTING:
        return _stuck_submitting(change, now)
    if change.status in (Status.ACCEPTED, Status.UPDATING):
        return _stuck_tracking(change, now)
    return None


def _stuck_queued(change: ChangeRequest, now) -> str | None:
    """A queued change waiting longer than QUEUED_STUCK_AFTER past its due time."""
    waiting_since = change.next_poll_at or change.created_at
    if now - waiting_since > QUEUED_STUCK_AFTER:
        return _queued_untaken(now)
    return None


def _stuck_submitting(change: ChangeRequest, now) -> str | None:
    """A change being sent for longer than a task may run: a slow SCP, or a stopped worker."""
    limit = timedelta(seconds=settings.CELERY_TASK_SOFT_TIME_LIMIT)
    if not change.submitted_at or now - change.submitted_at <= limit:
        return None
    if change.claimed_by in workers_alive(now=now):
        return _(
            "A worker is still sending this change: SCP has been slow to answer. The "
            "console reads SCP before any new attempt, so the update is never sent "
            "twice."
        )
    return _(
        "The worker that was sending this change has stopped; another worker takes "
        "it back within seconds and reads SCP before any new attempt, so the update "
        "is never sent twice."
    )


def _stuck_tracking(change: ChangeRequest, now) -> str | None:
    """A tracked change: its next read overdue, a read held long, or no sign of the update."""
    if change.next_poll_at and now - change.next_poll_at > TRACKING_OVERDUE_AFTER:
        return _reads_overdue(change, now)
    if change.claimed_by and change.claimed_by in workers_alive(now=now):
        held_since = (change.next_poll_at or now) - timedelta(seconds=60)
        if now - held_since > TRACKING_OVERDUE_AFTER:
            return _("A worker is reading the service from SCP: SCP has been slow to answer.")
    if _start_unseen(change, now):
        return _("SCP has not shown this update starting yet.")
    return None


def _start_unseen(change: ChangeRequest, now) -> bool:
    """An accepted change whose update SCP has not shown within the start grace."""
    grace = timedelta(seconds=settings.SCP_TRACK_START_GRACE_SECONDS)
    return bool(
        change.status == Status.ACCEPTED
        and not change.update_seen
        and change.accepted_at
        and now - change.accepted_at > grace
    )


def _queued_untaken(now) -> str:
    """A queued change no worker took: none runs, or none listens where changes go."""
    if not workers_alive(now=now):
        return _(
            "No worker is running: start one (celery -A console worker). The change is kept "
            "and goes out as soon as one runs."
        )
    return _(
        "Workers are running, but none has taken this change: check that a worker consumes "
        "the changes queue (a worker started without --queues consumes every queue). The "
        "change is kept and goes out as soon as one does."
    )


def _reads_overdue(change: ChangeRequest, now) -> str:
    """A tracked change whose next read is overdue."""
    if not workers_alive(now=now):
        return _(
            "No worker is running, so no one reads SCP for this change: start one (celery -A "
            "console worker)."
        )
    return _("No worker has read SCP for this change for a while, though workers are running.")
