"""Template context shared by every page."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import SimpleLazyObject

from console.dataflow.connections.scpfindings import VersionWarning, version_warning
from console.dataflow.models import DEFAULT_CONNECTION, ConnectionStatus
from console.dataflow.people.roles import abilities_for
from console.scp.versions import SUPPORT_WARNING_DAYS


def console_roles(request: HttpRequest) -> dict:
    """`can`: what the signed-in person may use (navigation shows only that)."""
    return {"can": abilities_for(request.user)}


def scp_version_banner(request: HttpRequest) -> dict:
    """`scp_version_warnings`: admins' banner of versions not fine at SCP or near their end."""

    # Lazy: the one query runs only on pages that render the banner, and only for admins.
    def warnings() -> list[VersionWarning]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.has_perm("dataflow.edit_service"):
            return []
        today = timezone.localdate()
        not_fine = ~Q(version_status="") & ~Q(version_status__in=ConnectionStatus.FINE)
        near = Q(version_date__lte=today + timedelta(days=SUPPORT_WARNING_DAYS))
        return [
            version_warning(status, today=today)
            for status in ConnectionStatus.objects.filter(not_fine | near)
            # A verdict on a version the default connection no longer uses is out of date.
            if not (
                status.name == DEFAULT_CONNECTION and status.api_version != settings.SCP_API_VERSION
            )
        ]

    return {"scp_version_warnings": SimpleLazyObject(warnings)}
