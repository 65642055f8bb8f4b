"""Object access for the pages: one helper per kind, raising 403 or 404, so no view forgets."""

from __future__ import annotations

from django.http import HttpRequest

from console.dataflow.models import ChangeRequest, Service
from console.dataflow.people.access import change_for, service_for


def service_for_user(request: HttpRequest, pk: int, perm: str) -> Service:
    """The service, or 403 when the person's role lacks `perm`, or 404 when it does not exist."""
    return service_for(request.user, pk, perm)


def change_for_user(request: HttpRequest, pk: int) -> ChangeRequest:
    """A change the person may see (every role sees changes), or 403/404."""
    return change_for(request.user, pk)
