"""Changes that wait for a maintenance window: scheduled when confirmed while their connection
is closed, released at the window's start (or sent now by an admin), re-planned on SCP's
configuration of that moment as an approval is.

A scheduled change's `next_poll_at` is the start of its next window; the workers' dispatcher
sends the release task when it comes (work/queueing.py). The release moves it Scheduled →
Queued through `change_move`, guarded on its status, so it is released once; the send step then
claims it as any queued change. A window that closed before the release ran (workers down, a
freeze begun) leaves the change scheduled for the next one.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import ApprovalRefused
from console.dataflow.changes.lifecycle import change_move, change_note
from console.dataflow.changes.replan import (
    ApprovalUnchecked,
    approval_fields,
    approval_read,
    approval_replan,
    replan_conflicts_said,
    replan_kept_said,
)
from console.dataflow.changes.steps import SEND_TASK, change_enqueue
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.windows.gate import service_opening
from console.dataflow.words.events import Said, said, said_join

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status

RELEASE_TASK = "dataflow.change_release"
# With no opening found within the horizon (a freeze of more than a year), look again daily.
LOOK_AGAIN = timedelta(days=1)
# SCP could not be read at the release: tried again this much later, while the window holds.
READ_AGAIN = timedelta(seconds=60)


class SendNowRefused(ApprovalRefused):
    """A scheduled change cannot be sent now; the message says why."""


def scheduled_until(service: Service, *, now: datetime) -> datetime | None:
    """When a change of `service` confirmed `now` may go: None when its connection is open
    now, else the start of its next maintenance window."""
    opening = service_opening(service, now=now)
    if opening is None:
        return now + LOOK_AGAIN
    return None if opening.start <= now else opening.start


def scheduled_event(author_name: str) -> Said:
    """A scheduled change's first timeline line."""
    return said(
        "Confirmed by %(author)s outside the maintenance windows of its SCP connection; "
        "scheduled for the next window. Nothing is sent before.",
        author=author_name,
    )


def change_release(*, change_id: int) -> bool:
    """At its window's start: re-plan a scheduled change on SCP's configuration of now and
    queue it; or, when the window closed meanwhile, leave it for the next one."""
    change = ChangeRequest.objects.select_related("service").filter(pk=change_id).first()
    if change is None or change.status != Status.SCHEDULED:
        return False
    now = timezone.now()
    later = scheduled_until(change.service, now=now)
    if later is not None:
        ChangeRequest.objects.filter(pk=change_id, status=Status.SCHEDULED).update(
            next_poll_at=later
        )
        change_note(
            change_id,
            message=said(
                "The maintenance window closed before the change was sent; it waits for the "
                "next one."
            ),
        )
        return False
    message = said("The maintenance window opened: the change goes now.")
    return _release(change, message=message, now=now)


def change_send_now(*, change: ChangeRequest, by, reason: str) -> bool:
    """An admin sends a scheduled change now, outside the windows, saying why.

    Raises SendNowRefused without a reason, ApprovalUnchecked when SCP cannot be read. False
    when the change is no longer scheduled.
    """
    reason = reason.strip()
    if not reason:
        raise SendNowRefused(_("Say why the change cannot wait for the maintenance window."))
    if not ChangeRequest.objects.filter(pk=change.pk, status=Status.SCHEDULED).exists():
        return False
    approval_read(service=change.service)
    message = said(
        "Sent now by %(name)s, outside the maintenance windows: %(reason)s",
        name=by.get_username(),
        reason=reason,
    )
    return _release(change, message=message, now=timezone.now(), read=False)


def _release(change: ChangeRequest, *, message: Said, now: datetime, read: bool = True) -> bool:
    """Re-plan on SCP's configuration of now and queue the change (fail it when SCP changed a
    field it sets meanwhile); True when it moved."""
    if read:
        try:
            approval_read(service=change.service)
        except ApprovalUnchecked:
            _unreadable(change, now=now)
            return False
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=change.service_id)
        replan = approval_replan(change=change, service=service)
        if replan.conflicts:
            return _conflicted(change, replan)
        moved = change_move(
            change.pk,
            frm=Status.SCHEDULED,
            to=Status.QUEUED,
            message=said_join(message, replan_kept_said(replan) or ""),
            next_poll_at=now,
            dispatched_at=None,  # the release's message is spent: the send is a new step
            **approval_fields(change=change, replan=replan),
        )
        if moved:
            transaction.on_commit(lambda: change_enqueue(SEND_TASK, change.pk))
    return moved


_UNREADABLE = said(
    "SCP could not be read at the window's start, so nothing was sent yet; the console tries "
    "again every minute while the window is open."
)


def _unreadable(change: ChangeRequest, *, now: datetime) -> None:
    """SCP could not be read at the release: try again in a minute, said once on the timeline."""
    logger.warning("change %s: SCP unreadable at its release; trying again", change.pk)
    ChangeRequest.objects.filter(pk=change.pk, status=Status.SCHEDULED).update(
        next_poll_at=now + READ_AGAIN
    )
    last = change.events.order_by("-at", "-pk").values_list("said", flat=True).first()
    if last != _UNREADABLE:
        change_note(change.pk, message=_UNREADABLE)


def _conflicted(change: ChangeRequest, replan) -> bool:
    """SCP changed a field the scheduled change sets: it ends Failed, nothing replaced unseen."""
    reason = said(
        "SCP changed fields this change sets while it waited for the maintenance window. "
        "%(conflicts)s Nothing was sent: make the change again on SCP's current configuration "
        "if it is still needed.",
        conflicts=replan_conflicts_said(replan),
    )
    change_move(
        change.pk,
        frm=Status.SCHEDULED,
        to=Status.FAILED,
        message=reason,
        error={"said": reason, "kind": "ChangedMeanwhile"},
    )
    return False
