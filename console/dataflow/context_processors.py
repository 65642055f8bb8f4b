"""Template context shared by every page."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from console.dataflow.models import DEFAULT_CONNECTION, ConnectionStatus
from console.dataflow.roles import abilities_for
from console.dataflow.scpcheck import version_warning


def console_roles(request: HttpRequest) -> dict:
    """`can`: what the signed-in person may use (navigation shows only that)."""
    return {"can": abilities_for(request.user)}


def scp_version_banner(request: HttpRequest) -> dict:
    """`scp_version_warnings`: admins' banner of versions SCP no longer lists as fine."""

    # Lazy: the one query runs only on pages that render the banner, and only for admins.
    def warnings() -> list[str]:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.has_perm("dataflow.edit_service"):
            return []
        statuses = ConnectionStatus.objects.exclude(version_status="").exclude(
            version_status__in=ConnectionStatus.FINE
        )
        return [
            version_warning(status)
            for status in statuses
            # A verdict on a version the default connection no longer uses is out of date.
            if not (
                status.name == DEFAULT_CONNECTION and status.api_version != settings.SCP_API_VERSION
            )
        ]

    return {"scp_version_warnings": SimpleLazyObject(warnings)}
