"""Pages of the history: changes across services, revisions, comparisons, reverts, time zone."""

from __future__ import annotations

import itertools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.drafts import revision_config
from console.dataflow.changes.proposals import draft_propose
from console.dataflow.forms.history import HistoryFilterForm
from console.dataflow.history.charts import OUTCOMES, weekly_chart_html
from console.dataflow.history.page import history_page
from console.dataflow.history.queries import (
    history_csv_lines,
    history_rows,
    history_weekly,
)
from console.dataflow.inventory.revisions import (
    RevisionMissing,
    revert_desired,
    revision_numbers,
    revision_parse,
    revisions_compare,
)
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.people.timezones import TimeZoneForm, time_zone_save
from console.dataflow.views.edits import GONE


def _service_for_history(request: HttpRequest, pk: int) -> Service:
    """A service whose revisions the person may see (every role sees services), or 403/404."""
    if not request.user.has_perm("dataflow.view_service"):
        raise PermissionDenied("Your role may not see services.")
    return get_object_or_404(Service, pk=pk)


# --- History across services --------------------------------------------------------------


@require_GET
@permission_required("dataflow.review_history", raise_exception=True)
def history(request: HttpRequest) -> HttpResponse:
    """Every change across services, filterable; `?format=csv` downloads the same rows."""
    form = HistoryFilterForm(request.GET or None)
    if not form.is_bound:
        rows = history_rows({})
    elif form.is_valid():
        rows = history_rows(form.cleaned_data)
    else:
        rows = ChangeRequest.objects.none()  # a filter not understood selects nothing
    if request.GET.get("format") == "csv" and form.is_valid():
        return _history_csv(rows)
    page = history_page(rows, number=request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    service = form.cleaned_data.get("service") if form.is_bound and form.is_valid() else None
    # The link that drops the one-service filter keeps the others.
    without_service = query.copy()
    without_service.pop("service", None)
    return render(
        request,
        "dataflow/history.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "csv_query": query.urlencode(),
            "service": service,
            "without_service": without_service.urlencode(),
            "weekly_chart": weekly_chart_html(history_weekly(rows)),
            "outcomes": OUTCOMES,
        },
    )


def _history_csv(rows) -> StreamingHttpResponse:
    """The rows as a streamed CSV download."""
    # The rows are written after the view returned (and the middleware reset the time zone and
    # the language): the lines are set up now, in the person's zone and language.
    lines = history_csv_lines(rows, zone=timezone.get_current_timezone())
    first = next(lines)
    response = StreamingHttpResponse(
        itertools.chain([first], lines), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = 'attachment; filename="change-history.csv"'
    return response


# --- Revisions of one service -------------------------------------------------------------


@require_GET
def service_revisions(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's configuration revisions, newest first, each with what explains it."""
    service = _service_for_history(request, pk)
    revisions = list(service.revisions.select_related("change").order_by("-revision")[:200])
    rows = []
    for index, rev in enumerate(revisions):
        older = revisions[index + 1] if index + 1 < len(revisions) else None
        rows.append(
            {
                "rev": rev,
                "older": older,
                "changed": len(config_diff(older.config, rev.config)) if older else None,
            }
        )
    return render(
        request,
        "dataflow/service_revisions.html",
        {"service": service, "rows": rows, "may_revert": _may_revert(request, service)},
    )


@require_GET
def service_compare(request: HttpRequest, pk: int) -> HttpResponse:
    """Two revisions side by side, field by field; by default the newest and the one before."""
    service = _service_for_history(request, pk)
    numbers = revision_numbers(service)
    error = ""
    comparison = None
    older = numbers[1] if len(numbers) > 1 else numbers[0]
    newer = numbers[0]
    try:
        if "from" in request.GET:
            older = revision_parse(service, request.GET["from"], label="from")
        if "to" in request.GET:
            newer = revision_parse(service, request.GET["to"], label="to")
    except RevisionMissing as exc:
        error = str(exc)
    else:
        comparison = revisions_compare(service=service, older=older, newer=newer)
    rows = {rev.revision: rev for rev in service.revisions.select_related("change")}
    return render(
        request,
        "dataflow/service_compare.html",
        {
            "service": service,
            "numbers": numbers,
            "older": older,
            "newer": newer,
            "older_row": rows.get(older),
            "newer_row": rows.get(newer),
            "comparison": comparison,
            "entries": comparison.entries if comparison else [],
            "error": error,
            "may_revert": _may_revert(request, service),
            "current": service.config_revision,
        },
        status=400 if error else 200,
    )


def _may_revert(request: HttpRequest, service: Service) -> bool:
    return request.user.has_perm("dataflow.edit_service") and not service.is_gone


@require_POST
def service_revert(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Revert to this revision" (admins): a draft of the fields that differ, to the review."""
    if not request.user.has_perm("dataflow.edit_service"):
        raise PermissionDenied("Only admins may revert a service to an older revision.")
    service = get_object_or_404(Service, pk=pk)
    if service.is_gone:
        messages.error(request, GONE)
        return redirect(service)
    try:
        revision = revision_parse(service, request.POST.get("revision"), label="revision")
    except RevisionMissing as exc:
        messages.error(request, str(exc))
        return redirect("dataflow:service-revisions", pk=service.pk)
    old = revision_config(service=service, revision=revision) or {}
    # The base is today's configuration: the review shows exactly the fields that go back,
    # and the usual stale-form check applies if SCP moves before the confirm.
    proposal = draft_propose(
        request.session,
        service=service,
        kind=ChangeRequest.Kind.FULL,
        opened_revision=service.config_revision,
        opened_config=service.config,
        desired=revert_desired(service.config, old),
        reason=_("Revert to revision %(revision)s.") % {"revision": revision},
    )
    if proposal.draft is None:
        messages.info(
            request,
            _("The current configuration already holds revision %(revision)s's values.")
            % {"revision": revision},
        )
        return redirect("dataflow:service-revisions", pk=service.pk)
    messages.info(
        request,
        _(
            "Review the fields that go back to revision %(revision)s. A password is never "
            "restored: edit the configuration to set one."
        )
        % {"revision": revision},
    )
    return redirect("dataflow:change-review", pk=service.pk, draft_id=proposal.draft.id)


# --- Preferences --------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    """The person's time zone, used for every date the console shows or exports."""
    form = TimeZoneForm(
        request.POST or None,
        site_zone=settings.TIME_ZONE,
        initial={"time_zone": request.session.get("time_zone", "")},
    )
    if request.method == "POST" and form.is_valid():
        time_zone_save(request=request, name=form.cleaned_data["time_zone"])
        messages.success(
            request,
            _("Dates are now shown in %(zone)s.") % {"zone": timezone.get_current_timezone_name()},
        )
        return redirect("dataflow:preferences")
    return render(
        request,
        "dataflow/preferences.html",
        {"form": form, "now": timezone.now(), "zone": timezone.get_current_timezone_name()},
    )
