"""Forms of fleet changes and approvals: they validate, and nothing else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.changes.hostsfile import hosts_parse
from console.dataflow.changes.validators import ip_normalize, validate_hostname
from console.dataflow.fleet.plan import WAVE_SIZE_DEFAULT, FleetEdit

ACTIONS = [
    ("replace_ip", gettext_lazy("Replace an IP (old → new)")),
    ("add_lines", gettext_lazy("Add hosts-file lines")),
    ("remove_host", gettext_lazy("Remove a host name")),
]


class FleetForm(forms.Form):
    """Which services (filters or an alias they hold) and which host-alias edit."""

    name = forms.CharField(label=gettext_lazy("Name contains"), required=False, max_length=200)
    state = forms.CharField(label=gettext_lazy("State"), required=False, max_length=32)
    cluster = forms.CharField(label=gettext_lazy("Cluster"), required=False, max_length=200)
    connection = forms.CharField(label=gettext_lazy("Connection"), required=False, max_length=50)
    contains = forms.CharField(
        label=gettext_lazy("Host aliases contain (IP or host name)"),
        required=False,
        max_length=253,
        help_text=gettext_lazy("Every service whose host aliases hold this IP or host name."),
    )
    action = forms.ChoiceField(label=gettext_lazy("Edit"), choices=ACTIONS, initial="replace_ip")
    old_ip = forms.CharField(label=gettext_lazy("Old IP"), required=False, max_length=64)
    new_ip = forms.CharField(label=gettext_lazy("New IP"), required=False, max_length=64)
    lines = forms.CharField(
        label=gettext_lazy("Hosts-file lines to add"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono"}),
        help_text=gettext_lazy("One IP per line, then its host names: 10.0.0.5 db.internal"),
    )
    hostname = forms.CharField(
        label=gettext_lazy("Host name to remove"), required=False, max_length=253
    )
    wave_size = forms.IntegerField(
        label=gettext_lazy("Wave size"),
        min_value=1,
        max_value=50,
        initial=WAVE_SIZE_DEFAULT,
        help_text=gettext_lazy("After the canary has succeeded, this many services go at once."),
    )

    def clean(self) -> dict[str, Any]:
        """The fields of the chosen edit: each checked, and normalised where it has a form."""
        data = super().clean()
        checks = {
            "replace_ip": self._replace_ip_clean,
            "add_lines": self._add_lines_clean,
            "remove_host": self._remove_host_clean,
        }
        check = checks.get(data.get("action"))
        if check is not None:
            check(data)
        return data

    def _replace_ip_clean(self, data: dict[str, Any]) -> None:
        """Two valid IPs, normalised, and not the same one."""
        old = self._ip("old_ip", data)
        new = self._ip("new_ip", data)
        if old and new and old == new:
            self.add_error("new_ip", _("The new IP is the old one: nothing would change."))

    def _add_lines_clean(self, data: dict[str, Any]) -> None:
        """At least one hosts-file line, parsed into (hostname, ip) pairs as `parsed_lines`."""
        text = data.get("lines", "")
        if not text.strip():
            self.add_error("lines", _("Write at least one hosts-file line."))
            return
        try:
            data["parsed_lines"] = tuple((a.hostname, a.ip) for a in hosts_parse(text))
        except ValidationError as exc:
            self.add_error("lines", exc)

    def _remove_host_clean(self, data: dict[str, Any]) -> None:
        """A valid host name, without the spaces around it."""
        name = data.get("hostname", "").strip()
        if not name:
            self.add_error("hostname", _("Write the host name to remove."))
            return
        try:
            validate_hostname(name)
        except ValidationError as exc:
            self.add_error("hostname", exc)
        data["hostname"] = name

    def _ip(self, name: str, data: dict[str, Any]) -> str:
        value = data.get(name, "").strip()
        if not value:
            self.add_error(name, _("Write an IPv4 or IPv6 address."))
            return ""
        try:
            data[name] = ip_normalize(value)
        except ValidationError as exc:
            self.add_error(name, exc)
            return ""
        return data[name]

    def edit(self) -> FleetEdit:
        """The validated edit."""
        data = self.cleaned_data
        return FleetEdit(
            action=data["action"],
            old_ip=data.get("old_ip", "") if data["action"] == "replace_ip" else "",
            new_ip=data.get("new_ip", "") if data["action"] == "replace_ip" else "",
            lines=data.get("parsed_lines", ()) if data["action"] == "add_lines" else (),
            hostname=data.get("hostname", "") if data["action"] == "remove_host" else "",
        )

    def selection(self) -> dict[str, str]:
        """The filters, as `fleet.services_select` takes them."""
        keys = ("name", "state", "cluster", "connection", "contains")
        return {key: self.cleaned_data.get(key, "").strip() for key in keys}


class FleetConfirmForm(forms.Form):
    """A ticket and a reason, and the preview the person saw (refused if it moved)."""

    ticket = forms.CharField(label=gettext_lazy("Ticket"), max_length=100)
    reason = forms.CharField(
        label=gettext_lazy("Reason for this fleet change"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    token = forms.CharField(widget=forms.HiddenInput, max_length=20000)


class DecisionForm(forms.Form):
    """Approve or reject, with a comment (required to reject: the author reads it)."""

    decision = forms.ChoiceField(
        choices=[("approve", gettext_lazy("Approve")), ("reject", gettext_lazy("Reject"))]
    )
    comment = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Required to reject; kept in the change's history."),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("decision") == "reject" and not data.get("comment", "").strip():
            self.add_error("comment", _("Say why you reject it: the author reads your comment."))
        return data


class ChangeDecisionForm(DecisionForm):
    """A single change's decision: also replace SCP's newer values, or send it back.

    `revision` is the service's configuration revision the approver's page showed: replacing
    SCP's values is refused if SCP moved since.
    """

    decision = forms.ChoiceField(
        choices=[
            ("approve", gettext_lazy("Approve")),
            ("override", gettext_lazy("Replace SCP's values")),
            ("return", gettext_lazy("Send back to the author")),
            ("reject", gettext_lazy("Reject")),
        ]
    )
    revision = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
