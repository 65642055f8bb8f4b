"""`{% watch_state service as watching %}`: whether the signed-in person watches a service."""

from __future__ import annotations

from django import template

from console.dataflow.people.preferences import watching

register = template.Library()


@register.simple_tag(takes_context=True)
def watch_state(context, service) -> bool:
    """True when the person viewing the page watches `service`."""
    user = context["request"].user
    return user.is_authenticated and watching(user=user, service=service)
