"""What people do with a fleet change: submit a confirmed preview, approve or reject it as a
whole, resume it after a stop, or cancel it.

preview (`plan`) → submit (FleetChange + members; approval as a whole where a connection asks)
→ waves (`waves.fleet_advance`) → stop at the first failure → resume or cancel. Each move of
the fleet change's status goes through `lifecycle.fleet_move`.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import (
    ApprovalRefused,
    approval_needed,
    approver_check,
)
from console.dataflow.changes.language import scp_language
from console.dataflow.changes.submit import ChangeRefused
from console.dataflow.fleet.lifecycle import fleet_create, fleet_move
from console.dataflow.fleet.plan import WAVE_SIZE_DEFAULT, Preview
from console.dataflow.fleet.waves import fleet_advance_dispatch
from console.dataflow.models import FleetChange, FleetMember
from console.dataflow.words.events import said, said_english

Fleet = FleetChange.Status
Member = FleetMember.State


# --- Submit -------------------------------------------------------------------------------


def fleet_submit(
    *, preview: Preview, author, ticket: str, reason: str, wave_size: int = WAVE_SIZE_DEFAULT
) -> FleetChange:
    """Record a confirmed preview as a fleet change; it starts after commit, or awaits approval.

    A fleet change needs approval as a whole when any of its services' connections asks for it.
    """
    included = preview.included
    if not included:
        raise ChangeRefused(_("The edit changes none of the selected services: nothing to do."))
    waits = any(approval_needed(connection_name=r.service.connection_name) for r in included)
    name = author.get_username()
    if waits:
        first = said(
            "Confirmed by %(author)s; waiting for a team lead or another admin to approve it. "
            "Nothing is sent before.",
            author=name,
        )
    else:
        first = said("Started by %(author)s.", author=name)
    with transaction.atomic():
        fleet = fleet_create(
            status=Fleet.AWAITING_APPROVAL if waits else Fleet.RUNNING,
            message=first,
            author=author,
            author_name=name,
            edit=preview.edit.to_dict(),
            edit_summary=preview.edit.summary[:300],
            ticket=ticket.strip(),
            reason=reason.strip(),
            wave_size=max(1, wave_size),
            language=scp_language(),
        )
        _members_create(fleet, preview)
        if not waits:
            transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return fleet


def _members_create(fleet: FleetChange, preview: Preview) -> None:
    """One member per previewed service, in preview order: waiting, or excluded saying why."""
    for position, row in enumerate(preview.rows, start=1):
        FleetMember.objects.create(
            fleet=fleet,
            service=row.service,
            position=position,
            state=Member.WAITING if row.included else Member.EXCLUDED,
            note=said_english(row.note_said) if row.note_said else "",
            note_said=row.note_said,
            base_revision=row.service.config_revision,
            diff=row.entries,
        )


# --- Approval (as a whole) ----------------------------------------------------------------


def fleet_approve(*, fleet: FleetChange, by, comment: str = "") -> bool:
    """An approver (never the author) lets a waiting fleet change start; False if it moved on."""
    approver_check(user=by, author_id=fleet.author_id)
    name, comment = by.get_username(), comment.strip()
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=Fleet.AWAITING_APPROVAL,
            to=Fleet.RUNNING,
            message=said("Approved by %(name)s: %(comment)s", name=name, comment=comment)
            if comment
            else said("Approved by %(name)s.", name=name),
            **FleetChange.decided("approved", by=by, comment=comment),
        )
        if moved:
            transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return bool(moved)


def fleet_reject(*, fleet: FleetChange, by, comment: str) -> bool:
    """An approver (never the author) refuses a waiting fleet change; nothing is ever sent."""
    approver_check(user=by, author_id=fleet.author_id)
    if not comment.strip():
        raise ApprovalRefused(_("Say why the fleet change is rejected: the author reads it."))
    name, comment = by.get_username(), comment.strip()
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=Fleet.AWAITING_APPROVAL,
            to=Fleet.REJECTED,
            message=said("Rejected by %(name)s: %(comment)s", name=name, comment=comment),
            **FleetChange.decided("rejected", by=by, comment=comment),
        )
        if moved:
            fleet.members.filter(state=Member.WAITING).update(state=Member.CANCELLED)
    return bool(moved)


# --- Resume, cancel (a person) ------------------------------------------------------------


def fleet_resume(*, fleet: FleetChange, by) -> bool:
    """Go on after a stop: the failed services stay failed, the waiting ones follow in waves."""
    moved = fleet_move(
        fleet.pk,
        frm=Fleet.STOPPED,
        to=Fleet.RUNNING,
        message=said("Resumed by %(name)s.", name=by.get_username()),
        stop_reason="",
        # The next wave is claimed from here; a wave left half started is finished first.
    )
    if moved:
        transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return moved


def fleet_cancel(*, fleet: FleetChange, by) -> bool:
    """Stop for good: services not started yet are never sent; those under way go on."""
    cancelled = said("Cancelled by %(name)s.", name=by.get_username())
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=(Fleet.RUNNING, Fleet.STOPPED, Fleet.AWAITING_APPROVAL),
            to=Fleet.CANCELLED,
            message=cancelled,
            stop_reason=said_english(cancelled),
        )
        if moved:
            fleet.members.filter(state=Member.WAITING).update(state=Member.CANCELLED)
    return bool(moved)
