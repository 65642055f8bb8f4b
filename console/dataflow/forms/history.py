"""The history's filters: the page's query string, and the JSON API's history."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext, gettext_lazy

from console.dataflow.forms.filters import FilterBar
from console.dataflow.forms.widgets import PlainSelect
from console.dataflow.models import ChangeRequest, Service


class HistoryFilterForm(FilterBar):
    """Filters of the history page; every field optional, bad values are form errors."""

    # `?service=<pk>` is how other pages link to one service's history. A hidden field, not a
    # <select>: ten thousand options cost the page most of its time; people type a name instead.
    service = forms.ModelChoiceField(
        queryset=Service.objects.only("pk", "name"), required=False, widget=forms.HiddenInput
    )
    service_name = forms.CharField(
        label=gettext_lazy("Service name contains"), required=False, max_length=200
    )
    status = forms.ChoiceField(
        label=gettext_lazy("Status"),
        widget=PlainSelect,
        choices=[("", gettext_lazy("Any status")), *ChangeRequest.Status.choices],
        required=False,
    )
    author = forms.CharField(label=gettext_lazy("Author"), required=False, max_length=150)
    since = forms.DateField(
        label=gettext_lazy("Since"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=gettext_lazy("Until"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    q = forms.CharField(label=gettext_lazy("Reason contains"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        """'Since' on or before 'until'."""
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(gettext("'Since' must be on or before 'until'."))
        return data
