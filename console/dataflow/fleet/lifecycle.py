"""The one owner of a fleet change's status: moves along `models.FLEET_LIFECYCLE`, each with
its event, and what people may do with a fleet change.

A fleet change is born in `fleet_create` and moves only through `fleet_move`: a guarded update
on the expected current status plus its `FleetEvent`, in one transaction. The fleet page asks
`fleet_actions` instead of comparing statuses.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from console.dataflow.changes.approvals import may_decide
from console.dataflow.models import (
    FLEET_FINAL,
    FLEET_INITIAL,
    FLEET_LIFECYCLE,
    FleetChange,
    FleetEvent,
    TimelineEvent,
)
from console.dataflow.words.events import Said

logger = logging.getLogger(__name__)


class IllegalFleetMove(Exception):
    """A move the fleet lifecycle does not allow: a bug in the caller, never a person's input."""


def fleet_create(*, status: str, message: Said | str, **fields: Any) -> FleetChange:
    """A new fleet change in one of `FLEET_INITIAL`, with its first event."""
    if status not in FLEET_INITIAL:
        raise IllegalFleetMove(f"a fleet change may not start as {status}")
    with transaction.atomic():
        fleet = FleetChange.objects.create(status=status, **fields)
        FleetEvent.objects.create(fleet=fleet, status=status, **TimelineEvent.columns(message))
    return fleet


def fleet_move(
    fleet_id: int, *, frm: str | Iterable[str], to: str, message: Said | str, **fields: Any
) -> bool:
    """Move a fleet change from one of `frm` to `to`, setting `fields`, and record `message`.

    False (and nothing written) when it is no longer in `frm`: someone moved it first.
    """
    sources = {frm} if isinstance(frm, str) else set(frm)
    for source in sources:
        if to not in FLEET_LIFECYCLE[source]:
            raise IllegalFleetMove(f"a fleet change may not move from {source} to {to}")
    if to in FLEET_FINAL:
        fields.setdefault("finished_at", timezone.now())
    event = TimelineEvent.columns(message)
    with transaction.atomic():
        moved = FleetChange.objects.filter(pk=fleet_id, status__in=sources).update(
            status=to, **fields
        )
        if moved:
            FleetEvent.objects.create(fleet_id=fleet_id, status=to, **event)
    if moved:
        logger.info("fleet change %s -> %s: %s", fleet_id, to, event["message"])
    return bool(moved)


def fleet_may_run(user) -> bool:
    """Support and Admins run fleet changes of host aliases."""
    return user.has_perm("dataflow.edit_host_aliases")


def fleet_may_steer(user, fleet: FleetChange) -> bool:
    """Cancel or resume a fleet change: its author or an admin, as for a single change."""
    return fleet_may_run(user) and (
        user.has_perm("dataflow.edit_service") or fleet.author_id == user.pk
    )


@dataclass(frozen=True)
class FleetActions:
    """What a person may do with a fleet change right now; the page shows only these."""

    resume: bool
    cancel: bool
    decide: bool


def fleet_actions(fleet: FleetChange, user) -> FleetActions:
    """Resume a stopped one, cancel one not final (author or admin); decide a waiting one
    (approvers other than its author)."""
    steer = fleet_may_steer(user, fleet)
    return FleetActions(
        resume=steer and fleet.status == "stopped",
        cancel=steer and "cancelled" in FLEET_LIFECYCLE[fleet.status],
        decide=fleet.status == "awaiting_approval" and may_decide(user, fleet.author_id),
    )
