"""Template context shared by every page."""

from __future__ import annotations

from django.http import HttpRequest

from console.dataflow.roles import abilities_for


def console_roles(request: HttpRequest) -> dict:
    """`can`: what the signed-in person may use (navigation shows only that)."""
    return {"can": abilities_for(request.user)}
