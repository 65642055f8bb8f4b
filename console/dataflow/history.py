"""Change history across services, for team leads: filters and the rows they select."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q, QuerySet

from console.dataflow.models import ChangeRequest, Service


class HistoryFilterForm(forms.Form):
    """Filters of the history page; every field optional, bad values are form errors."""

    service = forms.ModelChoiceField(
        queryset=Service.objects.only("pk", "name"), required=False, empty_label="All services"
    )
    status = forms.ChoiceField(
        choices=[("", "Any status"), *ChangeRequest.Status.choices], required=False
    )
    author = forms.CharField(required=False, max_length=150)
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    q = forms.CharField(label="Reason contains", required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError("'Since' must be on or before 'until'.")
        return data


def history_rows(filters: dict[str, Any]) -> QuerySet[ChangeRequest]:
    """Changes matching the filters, newest first."""
    rows = (
        ChangeRequest.objects.select_related("service")
        # The history shows the diff, never the full configurations: leave those in the DB.
        .defer("base_config", "desired_config", "scp_answer", "differences", "service__config")
        .order_by("-created_at", "-pk")
    )
    if filters.get("service"):
        rows = rows.filter(service=filters["service"])
    if filters.get("status"):
        rows = rows.filter(status=filters["status"])
    if filters.get("author"):
        rows = rows.filter(author_name__icontains=filters["author"])
    if filters.get("since"):
        rows = rows.filter(created_at__date__gte=filters["since"])
    if filters.get("until"):
        rows = rows.filter(created_at__date__lte=filters["until"])
    if filters.get("q"):
        rows = rows.filter(Q(reason__icontains=filters["q"]) | Q(ticket__icontains=filters["q"]))
    return rows
