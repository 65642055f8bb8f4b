"""The services: the list (search, filters, sorting and pages, all in the URL), a service's
page, and "Refresh from SCP"."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from console.dataflow.changes.configdiff import COMPONENT_LABELS
from console.dataflow.forms.filters import FilterBar
from console.dataflow.forms.widgets import PlainSelect
from console.dataflow.history.charts import service_chart, service_chart_headers
from console.dataflow.inventory.service_rows import (
    distinct_values,
    service_rows,
    service_rows_html,
)
from console.dataflow.inventory.sync import services_sync_request, sync_pacing
from console.dataflow.models import IN_FLIGHT, ChangeRequest, Service, SyncRun
from console.dataflow.templatetags.console_tags import STATE_COLOURS
from console.dataflow.views.access import service_for_user
from console.dataflow.windows.gate import service_window_note

PAGE_SIZE = 50
# The `sort` values the list understands: the URL's word and the ordering it stands for.
SORTS: dict[str, tuple[str, list[Any]]] = {
    "name": (gettext_lazy("Name (A to Z)"), ["name", "pk"]),
    "-name": (gettext_lazy("Name (Z to A)"), ["-name", "-pk"]),
    "state": (gettext_lazy("State"), ["state", "name", "pk"]),
    "-state": (gettext_lazy("State (reversed)"), ["-state", "name", "pk"]),
    "-last_change": (
        gettext_lazy("Last change (newest first)"),
        [F("last_change_at").desc(nulls_last=True), "name", "pk"],
    ),
    "last_change": (
        gettext_lazy("Last change (oldest first)"),
        [F("last_change_at").asc(nulls_first=True), "name", "pk"],
    ),
}
GONE = "GONE"
UNKNOWN = {
    "state": gettext_lazy("Unknown state %(value)r: pick one from the list."),
    "cluster": gettext_lazy("Unknown cluster %(value)r: pick one from the list."),
    "connection": gettext_lazy("Unknown connection %(value)r: pick one from the list."),
    "sort": gettext_lazy("Unknown sort %(value)r: pick one from the list."),
}


class ServiceFilterForm(FilterBar):
    """The list's query string; every field optional, a bad value is a form error."""

    q = forms.CharField(
        label=gettext_lazy("Search"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Name, cluster or data flow"),
    )
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False, widget=PlainSelect)
    cluster = forms.ChoiceField(label=gettext_lazy("Cluster"), required=False, widget=PlainSelect)
    connection = forms.ChoiceField(
        label=gettext_lazy("Connection"), required=False, widget=PlainSelect
    )
    sort = forms.ChoiceField(
        label=gettext_lazy("Sort"),
        required=False,
        widget=PlainSelect,
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, clusters: list[str], connections: list[str], **kwargs: Any):
        super().__init__(*args, **kwargs)
        states = sorted(set(STATE_COLOURS))
        self.fields["state"].choices = [
            ("", _("Any state")),
            *[(state, state) for state in states],
            (GONE, _("No longer in SCP")),
        ]
        self.fields["cluster"].choices = [("", _("Any cluster")), *[(c, c) for c in clusters]]
        self.fields["connection"].choices = [
            ("", _("Any connection")),
            *[(c, c) for c in connections],
        ]
        for name in ("state", "cluster", "connection", "sort"):
            self.fields[name].error_messages["invalid_choice"] = UNKNOWN[name]
        self.fields["page"].error_messages["invalid"] = _("The page must be a whole number.")
        self.fields["page"].error_messages["min_value"] = _("The page must be 1 or more.")


def services_filtered(filters: dict[str, Any]) -> QuerySet[Service]:
    """Services matching the filters, in the chosen order, each with its last change."""
    last = ChangeRequest.objects.filter(service=OuterRef("pk")).order_by("-created_at", "-pk")
    rows = Service.objects.only(
        "pk",
        "name",
        "scp_id",
        "connection_name",
        "state",
        "data_flow_name",
        "cluster_name",
        "web_url_nifi",
        "web_url_registry",
        "gone_at",
    ).annotate(
        last_change_id=Subquery(last.values("pk")[:1]),
        last_change_status=Subquery(last.values("status")[:1]),
        last_change_at=Subquery(last.values("created_at")[:1]),
    )
    if filters.get("q"):
        text = filters["q"]
        rows = rows.filter(
            Q(name__icontains=text)
            | Q(cluster_name__icontains=text)
            | Q(data_flow_name__icontains=text)
        )
    state = filters.get("state")
    if state == GONE:
        rows = rows.filter(gone_at__isnull=False)
    elif state:
        rows = rows.filter(state__iexact=state)
    if filters.get("cluster"):
        rows = rows.filter(cluster_name=filters["cluster"])
    if filters.get("connection"):
        rows = rows.filter(connection_name=filters["connection"])
    return rows.order_by(*SORTS[filters.get("sort") or "name"][1])


@require_GET
@permission_required("dataflow.view_service", raise_exception=True)
def service_list(request: HttpRequest) -> HttpResponse:
    """The services, PAGE_SIZE a page: state, last change, NiFi and Registry links."""
    clusters = distinct_values("cluster_name")
    connections = distinct_values("connection_name")
    form = ServiceFilterForm(request.GET, clusters=clusters, connections=connections)
    form.is_valid()  # a bad value is shown; the values that are good still apply
    filters = form.cleaned_data
    page = Paginator(services_filtered(filters), PAGE_SIZE).get_page(filters.get("page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    sync = SyncRun.objects.first()
    rows = service_rows(page.object_list)
    context = {
        "form": form,
        "page": page,
        "services": rows,
        "service_rows": service_rows_html(rows),
        "filtered": any(filters.get(key) for key in ("q", "state", "cluster", "connection")),
        "query": query.urlencode(),
        "full_query": request.GET.urlencode(),
        "sync": sync,
        "sync_pacing": sync_pacing(sync),
    }
    if request.htmx:
        return render(request, "dataflow/partials/service_table.html", context)
    return render(request, "dataflow/service_list.html", context)


@require_POST
@permission_required("dataflow.edit_service", raise_exception=True)
def sync_request(request: HttpRequest) -> HttpResponse:
    """ "Refresh from SCP" (admins): a worker reads every service; the list follows it live."""
    run = services_sync_request(requested_by=request.user)
    run.refresh_from_db()
    if run.errors:
        messages.error(request, " ".join(run.errors))
    else:
        messages.info(request, _("Refreshing the services from SCP…"))
    return redirect("dataflow:service-list")


@require_GET
@permission_required("dataflow.view_service", raise_exception=True)
def service_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A service's configuration in readable units, its links, its change in flight."""
    service = service_for_user(request, pk, "view_service")
    in_flight = service.changes.filter(status__in=IN_FLIGHT).first()
    if request.htmx:
        finished = None if in_flight else service.changes.first()
        return render(
            request,
            "dataflow/partials/inflight_banner.html",
            {"service": service, "change": in_flight, "finished": finished},
        )
    config = service.config or {}
    known = config.get("workloads") or {}
    workloads = [
        {"label": label, **(known.get(component) or {})}
        for component, label in COMPONENT_LABELS.items()
    ]
    return render(
        request,
        "dataflow/service_detail.html",
        {
            "service": service,
            "config": config,
            "workloads": workloads,
            "change": in_flight,
            "recent_changes": service.changes.all()[:10],
            "window": service_window_note(service),
            # The newest revisions, oldest first, for the chart of workloads over time.
            "chart": service_chart(
                list(service.revisions.select_related("change").order_by("-revision")[:30])[::-1]
            ),
            "chart_headers": service_chart_headers(),
        },
    )
