"""Object access for the pages: one helper per kind, raising 403 or 404, so no view forgets."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from console.dataflow.models import ChangeRequest, Service


def service_for_user(request: HttpRequest, pk: int, perm: str) -> Service:
    """The service, or 403 when the person's role lacks `perm`, or 404 when it does not exist."""
    if not request.user.has_perm(f"dataflow.{perm}"):
        raise PermissionDenied(_("Your role may not do this."))
    return get_object_or_404(Service, pk=pk)


def change_for_user(request: HttpRequest, pk: int) -> ChangeRequest:
    """A change the person may see (every role sees changes), or 403/404."""
    if not request.user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return get_object_or_404(ChangeRequest.objects.select_related("service", "author"), pk=pk)
