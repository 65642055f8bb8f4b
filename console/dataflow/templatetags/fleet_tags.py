"""Template helpers of approvals: the count beside the navigation link."""

from __future__ import annotations

from django import template

from console.dataflow.changes.approvals import approvals_pending_for

register = template.Library()


@register.simple_tag
def approvals_count(user) -> int:
    """How many changes and fleet changes await this person's decision."""
    return approvals_pending_for(user).count
