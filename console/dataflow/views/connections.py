"""The connections page: each SCP connection's endpoint, API version and last check."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from console.dataflow.connections.scpcheck import connections_check, connections_overview


@require_GET
@permission_required("dataflow.edit_service", raise_exception=True)
def connections(request: HttpRequest) -> HttpResponse:
    """One row per connection: endpoint, API version and its status, the last verdict."""
    return render(request, "dataflow/connections.html", {"rows": connections_overview()})


@require_POST
@permission_required("dataflow.edit_service", raise_exception=True)
def connections_check_now(request: HttpRequest) -> HttpResponse:
    """ "Check now": check every connection the page lists, then show the page again."""
    verdicts = connections_check(names=[row.name for row in connections_overview()])
    failed = [verdict.name for verdict in verdicts if not verdict.ok]
    if failed:
        messages.error(
            request,
            _("Checked %(count)s; failed: %(names)s.")
            % {"count": len(verdicts), "names": ", ".join(failed)},
        )
    else:
        messages.success(
            request,
            _("Checked %(count)d connection(s): all OK.") % {"count": len(verdicts)},
        )
    return redirect("dataflow:connections")
