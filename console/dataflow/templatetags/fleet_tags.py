"""Template helpers of fleet changes and approvals: the edit in words, the pending count."""

from __future__ import annotations

from django import template

from console.dataflow.changes.approvals import approvals_pending_for
from console.dataflow.fleet.plan import FleetEdit

register = template.Library()


@register.simple_tag
def approvals_count(user) -> int:
    """How many changes and fleet changes await this person's decision."""
    return approvals_pending_for(user).count


@register.filter
def fleet_summary(fleet) -> str:
    """The fleet's edit in one line in the reader's language, made from the edit itself (the
    stored `edit_summary` is the author's words, kept for a row whose edit cannot be read)."""
    try:
        return FleetEdit.from_dict(fleet.edit).summary
    except (KeyError, TypeError, ValueError):
        return fleet.edit_summary
