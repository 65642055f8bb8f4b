"""Four-eyes approval: which changes need it, who may decide, and what waits for a person."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from console.dataflow.models import (
    DEFAULT_CONNECTION,
    ChangeRequest,
    FleetChange,
    ScpConnection,
)

APPROVE_PERM = "dataflow.approve_change"


class ApprovalRefused(Exception):
    """A decision a person may not take (their own change, no approver role, already decided)."""


def approval_needed(*, connection_name: str) -> bool:
    """Whether changes of services on this connection wait for an approver before being sent."""
    if connection_name == DEFAULT_CONNECTION:
        return bool(getattr(settings, "SCP_NEEDS_APPROVAL", False))
    return ScpConnection.objects.filter(name=connection_name, needs_approval=True).exists()


def approver_check(*, user, author_id: int | None) -> None:
    """Raise ApprovalRefused unless `user` may decide on a change authored by `author_id`.

    Superusers hold every permission but are still never the second pair of eyes on their own
    change: the rule is about people, not roles.
    """
    if not user.has_perm(APPROVE_PERM):
        raise ApprovalRefused(_("Only team leads and admins may approve or reject changes."))
    if author_id is not None and author_id == user.pk:
        raise ApprovalRefused(_("You wrote this change: someone else must approve or reject it."))


def may_decide(user, author_id: int | None) -> bool:
    """`approver_check` as a yes/no, for buttons and lists."""
    try:
        approver_check(user=user, author_id=author_id)
    except ApprovalRefused:
        return False
    return True


@dataclass(frozen=True)
class Pending:
    """What waits for this person's decision: single changes and whole fleet changes."""

    changes: QuerySet[ChangeRequest]
    fleets: QuerySet[FleetChange]

    @property
    def count(self) -> int:
        return self.changes.count() + self.fleets.count()


def approvals_pending_for(user) -> Pending:
    """Changes and fleet changes awaiting approval that `user` may decide (never their own)."""
    if not user.is_authenticated or not user.has_perm(APPROVE_PERM):
        return Pending(ChangeRequest.objects.none(), FleetChange.objects.none())
    changes = (
        ChangeRequest.objects.filter(status=ChangeRequest.Status.AWAITING_APPROVAL)
        .exclude(author_id=user.pk)
        .select_related("service")
        .order_by("created_at", "pk")
    )
    fleets = (
        FleetChange.objects.filter(status=FleetChange.Status.AWAITING_APPROVAL)
        .exclude(author_id=user.pk)
        .order_by("created_at", "pk")
    )
    return Pending(changes, fleets)
