"""Object access for a person, whatever asks (a page or the API): 403 or 404, never forgotten."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from console.dataflow.models import ChangeRequest, Service


def service_for(user, pk: int, perm: str) -> Service:
    """The service, or 403 when the person's role lacks `perm`, or 404 when it does not exist."""
    if not user.has_perm(f"dataflow.{perm}"):
        raise PermissionDenied(_("Your role may not do this."))
    return get_object_or_404(Service, pk=pk)


def change_for(user, pk: int) -> ChangeRequest:
    """A change the person may see (every role sees changes), or 403/404."""
    if not user.has_perm("dataflow.view_changerequest"):
        raise PermissionDenied(_("Your role may not see changes."))
    return get_object_or_404(ChangeRequest.objects.select_related("service", "author"), pk=pk)
