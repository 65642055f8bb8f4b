"""Deciding on a change awaiting approval: approve (re-planned on what SCP holds now), reject,
or withdraw by its author. Sending one back to its author is `replan.change_send_back`."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import ApprovalRefused, approver_check
from console.dataflow.changes.lifecycle import change_move
from console.dataflow.changes.replan import (
    approval_check,
    approval_fields,
    approval_message,
    approval_read,
    approval_replan,
)
from console.dataflow.changes.schedule import scheduled_until
from console.dataflow.changes.steps import SEND_TASK, change_enqueue
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.words.events import said, said_join

Status = ChangeRequest.Status
_SCHEDULED = said(
    "Its SCP connection is outside its maintenance windows: scheduled for the next window."
)


def change_approve(
    *,
    change: ChangeRequest,
    by,
    comment: str = "",
    override: bool = False,
    seen_revision: int | None = None,
) -> bool:
    """An approver (never the author) lets a waiting change go: queued, and sent after commit;
    scheduled for the next maintenance window while its connection is closed.

    It is re-planned on what SCP holds now (read first): fields SCP changed meanwhile that the
    change does not set are kept. Raises ApprovalConflict when SCP now holds another value for
    a field the change sets, unless the approver chose to replace it (`override`) on the
    configuration they saw (`seen_revision`; ApprovalStale otherwise), and ApprovalUnchecked
    when SCP cannot be read. False when the change no longer waits (withdrawn, or decided by
    someone else first).
    """
    approver_check(user=by, author_id=change.author_id)
    if not ChangeRequest.objects.filter(pk=change.pk, status=Status.AWAITING_APPROVAL).exists():
        return False
    approval_read(service=change.service)
    name = by.get_username()
    comment = comment.strip()
    now = timezone.now()
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=change.service_id)
        replan = approval_replan(change=change, service=service)
        approval_check(replan=replan, override=override, seen_revision=seen_revision)
        later = scheduled_until(service, now=now)
        message = approval_message(name=name, comment=comment, replan=replan, override=override)
        if later is not None:
            message = said_join(message, _SCHEDULED)
        moved = change_move(
            change.pk,
            frm=Status.AWAITING_APPROVAL,
            to=Status.QUEUED if later is None else Status.SCHEDULED,
            message=message,
            **ChangeRequest.decided("approved", by=by, comment=comment, at=now),
            # The queue's clock starts now, not when the author confirmed (or at the window).
            next_poll_at=later or now,
            **approval_fields(change=change, replan=replan),
        )
        if moved and later is None:
            transaction.on_commit(lambda: change_enqueue(SEND_TASK, change.pk))
    return moved


def change_reject(*, change: ChangeRequest, by, comment: str) -> bool:
    """An approver (never the author) refuses a waiting change, saying why; it is never sent."""
    approver_check(user=by, author_id=change.author_id)
    comment = comment.strip()
    if not comment:
        raise ApprovalRefused(_("Say why the change is rejected: the author reads it."))
    name = by.get_username()
    return change_move(
        change.pk,
        frm=Status.AWAITING_APPROVAL,
        to=Status.REJECTED,
        message=said("Rejected by %(name)s: %(comment)s", name=name, comment=comment),
        **ChangeRequest.decided("rejected", by=by, comment=comment),
    )


def change_withdraw(*, change: ChangeRequest, by) -> bool:
    """The author takes back a change that still waits for approval; nothing was sent."""
    if change.author_id != by.pk:
        raise ApprovalRefused(_("Only the author may withdraw a change awaiting approval."))
    return change_move(
        change.pk,
        frm=Status.AWAITING_APPROVAL,
        to=Status.CANCELLED,
        message=said("Withdrawn by its author, %(name)s, before approval.", name=by.get_username()),
    )
