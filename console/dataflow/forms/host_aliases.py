"""The host alias list: its rows (the edit form), its hosts-file paste (support's page), and
its switch."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.changes import validators as v
from console.dataflow.changes.hostsfile import host_alias_switch, hosts_parse
from console.dataflow.forms.held import BaseRevisionField, HostnameField, IPField
from console.scp import HostAlias


class HostAliasForm(forms.Form):
    """One row of the host alias list: a host name and the IP it resolves to in the pods.

    A row that is, unchanged, a (host name, IP) pair SCP holds passes as held; new and edited
    rows are checked.
    """

    hostname = HostnameField(
        label=gettext_lazy("Host name"),
        widget=forms.TextInput(attrs={"placeholder": "db.internal.example", "autocomplete": "off"}),
    )
    ip = IPField(
        label=gettext_lazy("IP address"),
        max_length=100,
        widget=forms.TextInput(attrs={"placeholder": "10.0.0.12", "autocomplete": "off"}),
    )

    def __init__(self, *args: Any, held: frozenset[tuple[str, str]] = frozenset(), **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.is_bound:
            hostname = self.data.get(self.add_prefix("hostname"))
            ip = self.data.get(self.add_prefix("ip"))
        else:
            hostname, ip = self.initial.get("hostname"), self.initial.get("ip")
        if not (isinstance(hostname, str) and isinstance(ip, str)):
            return
        pair = next((p for p in held if p == (hostname.strip(), ip.strip())), None)
        pair = pair or next((p for p in held if p == (hostname, ip)), None)
        if pair is not None:
            self.fields["hostname"].hold(pair[0])
            self.fields["ip"].hold(pair[1])

    @property
    def held_pair(self) -> bool:
        """True when this row is a pair SCP holds, unchanged."""
        return self.fields["hostname"].holding

    def held_warnings(self) -> list[str]:
        """The rules this held row breaks, as warnings."""
        return [w for w in (self.fields[name].held_warning() for name in ("hostname", "ip")) if w]


class BaseHostAliasFormSet(forms.BaseFormSet):
    """Rows of host aliases: at most 20, one IP per host name (Kubernetes keys them so)."""

    default_error_messages = {
        "too_many_forms": gettext_lazy(
            "SCP allows at most %(num)d host aliases; remove some rows."
        ),
    }

    def clean(self) -> None:
        """Refuse a list that arrived incomplete, is too long, or gives a name two IPs."""
        if self.management_form.cleaned_data.get("TOTAL_FORMS", 0) < 0:
            # A negative count would otherwise read as "no rows" and drop every alias.
            raise forms.ValidationError(
                _("The host alias rows arrived incomplete; reload the page and edit again.")
            )
        if any(self.errors):
            return
        kept = self._kept()
        self._count_check(kept)
        self._one_ip_check(kept)

    def _kept(self) -> list[HostAliasForm]:
        """The valid, non-deleted rows, in page order."""
        return [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]

    def _count_check(self, kept: list[HostAliasForm]) -> None:
        held_count = len(self.form_kwargs.get("held", ()))
        # More rows than SCP allows is refused only when they add to what SCP already holds.
        if len(kept) > max(v.HOST_ALIASES_MAX, held_count):
            raise forms.ValidationError(
                self.error_messages["too_many_forms"] % {"num": v.HOST_ALIASES_MAX},
                code="too_many_forms",
            )

    @staticmethod
    def _one_ip_check(kept: list[HostAliasForm]) -> None:
        """One row per host name (Kubernetes keys the list by it), unless SCP holds both."""
        seen: dict[str, tuple[str, bool]] = {}
        for form in kept:
            hostname, ip = form.cleaned_data["hostname"], form.cleaned_data["ip"]
            if hostname in seen and seen[hostname][1] and form.held_pair:
                continue  # SCP holds both rows already: not this edit's to refuse
            if hostname in seen and seen[hostname][0] != ip:
                raise forms.ValidationError(
                    _(
                        "'%(hostname)s' points at both %(first)s and %(second)s: a host name may "
                        "have only one IP."
                    )
                    % {"hostname": hostname, "first": seen[hostname][0], "second": ip}
                )
            if hostname in seen:
                raise forms.ValidationError(
                    _("'%(hostname)s' is listed twice; keep one row.") % {"hostname": hostname}
                )
            seen[hostname] = (ip, form.held_pair)

    def aliases(self) -> tuple[HostAlias, ...]:
        """The valid, non-deleted rows, in page order."""
        return tuple(
            HostAlias(hostname=f.cleaned_data["hostname"], ip=f.cleaned_data["ip"])
            for f in self._kept()
        )


HostAliasFormSet = forms.formset_factory(
    HostAliasForm,
    formset=BaseHostAliasFormSet,
    extra=0,
    can_delete=True,
    max_num=v.HOST_ALIASES_MAX,
    validate_max=False,  # BaseHostAliasFormSet.clean counts, sparing what SCP already holds
    absolute_max=v.HOST_ALIASES_MAX + 30,
)


def held_pairs(config: dict[str, Any] | None) -> frozenset[tuple[str, str]]:
    """The (host name, IP) pairs a configuration holds."""
    return frozenset(
        (str(a.get("hostname", "")), str(a.get("ip", "")))
        for a in (config or {}).get("host_aliases") or ()
        if isinstance(a, dict)
    )


def host_alias_formset(
    *,
    data: Any = None,
    aliases: list[dict[str, str]] | None = None,
    held: dict[str, Any] | None = None,
) -> BaseHostAliasFormSet:
    """The host alias rows, bound to posted data or filled from a configuration.

    `held` is the configuration the page was opened on: its rows pass unchanged.
    """
    form_kwargs = {"held": held_pairs(held)}
    if data is not None:
        return HostAliasFormSet(data, prefix="aliases", form_kwargs=form_kwargs)
    return HostAliasFormSet(initial=aliases or [], prefix="aliases", form_kwargs=form_kwargs)


KEEP_OFF_CONTRADICTS = gettext_lazy(
    "Tick either 'Host aliases enabled' or 'Keep host aliases switched off', not both."
)


class HostAliasSwitchForm(forms.Form):
    """The switch of the host alias list, and the choice to keep a switched-off list off.

    Lines written onto a list held switched off would never reach the pods: the change switches
    the list on with them unless the person ticks "keep switched off" (offered only then).
    """

    host_alias_enabled = forms.BooleanField(
        label=gettext_lazy("Host aliases enabled"), required=False
    )
    host_alias_keep_off = forms.BooleanField(
        label=gettext_lazy("Keep host aliases switched off"),
        required=False,
        help_text=gettext_lazy(
            "Host aliases are switched off on this service, so the pods get none of its lines. "
            "Lines you add or change switch them on; tick this to keep them off (SCP keeps the "
            "lines, the pods do not get them)."
        ),
    )
    held_config: dict[str, Any]

    @property
    def offers_keep_off(self) -> bool:
        """True when the configuration opened holds the list switched off."""
        return not (self.held_config or {}).get("host_alias_enabled")

    def clean(self) -> dict[str, Any]:
        """Refuse switching the list on and keeping it off at once."""
        data = super().clean()
        keep_off = data.get("host_alias_keep_off") and self.offers_keep_off
        if data.get("host_alias_enabled") and keep_off:
            self.add_error("host_alias_keep_off", KEEP_OFF_CONTRADICTS)
        return data

    def alias_switch(self, aliases: tuple[HostAlias, ...]) -> bool:
        """Whether the list is to be on with these aliases (see `hostsfile.host_alias_switch`)."""
        return host_alias_switch(
            held=self.held_config or {},
            enabled=self.cleaned_data["host_alias_enabled"],
            aliases=[{"hostname": a.hostname, "ip": a.ip} for a in aliases],
            keep_off=self.cleaned_data["host_alias_keep_off"] and self.offers_keep_off,
        )


class HostsFileField(forms.CharField):
    """Host aliases pasted as hosts-file lines: `10.0.0.5 db.internal db`, one IP per line."""

    widget = forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "font-monospace"})

    held: frozenset[tuple[str, str]] = frozenset()

    def to_python(self, value: Any) -> tuple[HostAlias, ...]:
        return hosts_parse(super().to_python(value) or "", held=self.held)

    def validate(self, value: tuple[HostAlias, ...]) -> None:
        """An empty list is a valid answer: it removes every alias."""


class HostAliasesForm(HostAliasSwitchForm):
    """Support's page: the host alias list and nothing else, with a ticket and a reason."""

    base_revision = BaseRevisionField()
    hosts = HostsFileField(
        label=gettext_lazy("Host aliases (hosts-file lines)"),
        required=False,
        help_text=format_lazy(
            gettext_lazy(
                "One line per IP: the IP, then its host names, e.g. "
                "'10.0.0.5 db.internal.example'. Paste from a hosts file; '#' starts a comment. "
                "At most {max} host names."
            ),
            max=v.HOST_ALIASES_MAX,
        ),
    )
    ticket = forms.CharField(
        label=gettext_lazy("Ticket"),
        max_length=100,
        help_text=gettext_lazy("The support ticket this fixes, e.g. SUP-1234."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Kept in the change history."),
    )

    def __init__(self, *args: Any, held: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held_config = held or {}
        self.fields["hosts"].held = held_pairs(self.held_config)

    def desired_config(self, opened: dict[str, Any]) -> dict[str, Any]:
        """`opened` with the pasted list and its switch, and nothing else changed."""
        aliases = self.cleaned_data["hosts"]
        return {
            **opened,
            "host_alias_enabled": self.alias_switch(aliases),
            "host_aliases": [{"hostname": a.hostname, "ip": a.ip} for a in aliases],
        }

    def held_warnings(self) -> list[str]:
        """Host aliases SCP holds that Kubernetes' rules would refuse: kept unless changed."""
        warnings = []
        for hostname, ip in sorted(held_pairs(self.held_config)):
            problems = []
            for check, value in ((v.validate_hostname, hostname), (v.ip_normalize, ip)):
                try:
                    check(value)
                except ValidationError as exc:
                    problems += exc.messages
            if problems:
                warnings.append(
                    _(
                        "SCP holds '%(hostname)s' at %(ip)s, which Kubernetes' rules would "
                        "refuse; it is kept as it is unless you change it. (%(problems)s)"
                    )
                    % {"hostname": hostname, "ip": ip, "problems": " ".join(problems)}
                )
        return warnings
