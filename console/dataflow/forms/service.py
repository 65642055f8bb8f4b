"""Forms: they validate and build a ServiceConfig, nothing else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.changes import validators as v
from console.dataflow.changes.configdiff import COMPONENT_LABELS
from console.dataflow.changes.hostsfile import host_alias_switch, hosts_parse
from console.dataflow.models import Service
from console.scp import HostAlias, ServiceConfig, Workload, Workloads

VERSION_RE = r"^[0-9A-Za-z][0-9A-Za-z.\-_+]{0,40}$"
GUIDE = "guide"  # which rules a held value is checked against (a key, not words)
KUBERNETES = "kubernetes"
_NOTHING: Any = object()


class HeldValueMixin:
    """A field that lets the value SCP holds pass exactly as held, whatever the rules say.

    The user guide's and Kubernetes' rules apply to what a person changes: services created by
    other tools may hold values the rules refuse, and a change of another field must not be
    blocked by them (nor rewrite them). `hold()` names the value; an unchanged post returns it.
    """

    held: Any = _NOTHING
    rules: str = GUIDE

    def hold(self, value: Any) -> None:
        """The value SCP holds for this field, in the configuration the form was opened on."""
        self.held = value
        # The browser must not refuse to send back what SCP holds (step, length, range).
        attrs = self.widget.attrs  # type: ignore[attr-defined]
        step = attrs.get("step")
        if isinstance(step, int) and isinstance(value, int) and value % step:
            attrs["step"] = "any"
        if self.held_warning():
            for attr in ("maxlength", "minlength", "min", "max", "pattern"):
                attrs.pop(attr, None)

    def is_held(self, value: Any) -> bool:
        """True when the posted value is the held one (surrounding blanks aside)."""
        if self.held is _NOTHING:
            return False
        if isinstance(value, str) and isinstance(self.held, str):
            return value.strip() == self.held.strip()
        try:
            return self.to_python(value) == self.to_python(self.held)  # type: ignore[attr-defined]
        except (ValidationError, TypeError, ValueError):
            return False

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        return super().clean(value)  # type: ignore[misc]

    def held_warning(self) -> str:
        """What the rules say about the held value, as a warning; "" when they accept it."""
        if self.held is _NOTHING:
            return ""
        try:
            super().clean(self.held)  # type: ignore[misc]
        except ValidationError as exc:
            params = {"value": self.held, "problems": " ".join(exc.messages)}
            if self.rules == KUBERNETES:
                return (
                    _(
                        "SCP holds '%(value)s', which Kubernetes' rules would refuse; it is kept "
                        "as it is unless you change it. (%(problems)s)"
                    )
                    % params
                )
            return (
                _(
                    "SCP holds '%(value)s', which the user guide's rules would refuse; it is "
                    "kept as it is unless you change it. (%(problems)s)"
                )
                % params
            )
        return ""


class HeldCharField(HeldValueMixin, forms.CharField):
    """A text field whose held value passes unchanged."""


class HeldIntegerField(HeldValueMixin, forms.IntegerField):
    """A number field whose held value passes unchanged."""


class HeldChoiceField(HeldValueMixin, forms.ChoiceField):
    """A choice whose held value passes unchanged."""


class HeldRegexField(HeldValueMixin, forms.RegexField):
    """A patterned text field whose held value passes unchanged."""


class NodeSelectorField(HeldCharField):
    """Kubernetes node labels, key=value joined by commas; an edited value is tidied for SCP."""

    default_validators = [v.validate_node_selector]
    rules = KUBERNETES

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        cleaned = super().clean(value)
        # "nodepool = dataflow , zone=a" is what people type; SCP wants "nodepool=dataflow,zone=a".
        return ",".join(
            "=".join(part.strip() for part in pair.split("=", 1)) for pair in cleaned.split(",")
        )


class HostnameField(HeldCharField):
    """A host name Kubernetes accepts in /etc/hosts: a lower-case RFC 1123 subdomain."""

    default_validators = [v.validate_hostname]
    rules = KUBERNETES

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 253)
        super().__init__(**kwargs)


class IPField(HeldCharField):
    """An IPv4 or IPv6 address, read by the same parser as the hosts-file paste."""

    rules = KUBERNETES

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        cleaned = super().clean(value)
        return v.ip_normalize(cleaned) if cleaned else cleaned


class BaseRevisionField(forms.IntegerField):
    """The hidden revision of the configuration a form was opened on (stale-edit check)."""

    def __init__(self, **kwargs: Any) -> None:
        lost = gettext_lazy(
            "This form lost track of the configuration it was opened on; reload the page."
        )
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault(
            "error_messages",
            {code: lost for code in ("required", "invalid", "min_value", "max_value")},
        )
        super().__init__(**kwargs)


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
        return self.fields["hostname"].held is not _NOTHING

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
        if self.management_form.cleaned_data.get("TOTAL_FORMS", 0) < 0:
            # A negative count would otherwise read as "no rows" and drop every alias.
            raise forms.ValidationError(
                _("The host alias rows arrived incomplete; reload the page and edit again.")
            )
        if any(self.errors):
            return
        kept = [f for f in self.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]
        held_count = len(self.form_kwargs.get("held", ()))
        # More rows than SCP allows is refused only when they add to what SCP already holds.
        if len(kept) > max(v.HOST_ALIASES_MAX, held_count):
            raise forms.ValidationError(
                self.error_messages["too_many_forms"] % {"num": v.HOST_ALIASES_MAX},
                code="too_many_forms",
            )
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
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE")
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


class ServiceEditForm(HostAliasSwitchForm):
    """Every field an admin may change, pre-filled from the last known configuration.

    `held` is the configuration the form was opened on (default: the service's newest): a
    value equal to what it holds passes exactly as held; edited values meet every rule.
    """

    base_revision = BaseRevisionField()
    account_id = HeldCharField(
        label=gettext_lazy("Account id"), max_length=30, validators=[v.validate_account_id]
    )
    account_password = forms.CharField(
        label=gettext_lazy("New password"),
        required=False,
        max_length=50,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "Leave blank to keep the current password. 8-50 characters with upper case, "
            "lower case, digits and special characters."
        ),
        validators=[v.validate_account_password],
    )
    domain = HeldCharField(
        label=gettext_lazy("Domain"), max_length=50, validators=[v.validate_domain]
    )
    node_selector = NodeSelectorField(
        label=gettext_lazy("Node selector"),
        max_length=200,
        help_text=gettext_lazy(
            "The Kubernetes node label the pods run on, e.g. nodepool=dataflow. "
            "A wrong label makes the installation fail."
        ),
    )
    description = HeldCharField(
        label=gettext_lazy("Description"),
        required=False,
        max_length=v.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=format_lazy(gettext_lazy("At most {max} characters."), max=v.DESCRIPTION_MAX),
    )

    def __init__(
        self, *args: Any, service: Service, held: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        self.held_config = service.config if held is None else held
        offered = service.offered_versions or {}
        held_workloads = (self.held_config or {}).get("workloads") or {}
        current = (service.config or {}).get("workloads") or {}
        for component, label in COMPONENT_LABELS.items():
            self.fields[f"{component}_cpu"] = HeldIntegerField(
                label=_("%(component)s CPU (millicores)") % {"component": label},
                validators=[MinValueValidator(v.CPU_MIN), MaxValueValidator(v.CPU_MAX)],
                widget=forms.NumberInput(attrs={"data-unit": "cpu", "step": 100}),
                help_text=_("%(min)s-%(max)s; 1000 = 1 vCPU")
                % {"min": v.CPU_MIN, "max": v.CPU_MAX},
            )
            self.fields[f"{component}_memory"] = HeldIntegerField(
                label=_("%(component)s memory (MiB)") % {"component": label},
                validators=[MinValueValidator(v.MEMORY_MIN), MaxValueValidator(v.MEMORY_MAX)],
                widget=forms.NumberInput(attrs={"data-unit": "memory", "step": 128}),
                help_text=_("%(min)s-%(max)s; 1024 = 1 GiB")
                % {"min": v.MEMORY_MIN, "max": v.MEMORY_MAX},
            )
            replica_rules = [MinValueValidator(v.REPLICA_MIN), MaxValueValidator(v.REPLICA_MAX)]
            if component == "zookeeper":
                replica_rules.append(v.validate_odd_replicas)
            self.fields[f"{component}_replica"] = HeldIntegerField(
                label=_("%(component)s replicas") % {"component": label},
                validators=replica_rules,
                help_text=_("odd, for a quorum (1, 3, 5 …)")
                if component == "zookeeper"
                else f"{v.REPLICA_MIN}-{v.REPLICA_MAX}",
            )
            running = {
                (part.get(component) or {}).get("version") for part in (current, held_workloads)
            }
            choices = sorted(
                {str(c) for c in offered.get(component) or []}
                | {str(c) for c in running if c not in (None, "")}
            )
            if choices:
                self.fields[f"{component}_version"] = HeldChoiceField(
                    label=_("%(component)s version") % {"component": label},
                    choices=[(c, c) for c in choices],
                    help_text=_("the versions SCP offers for this data flow"),
                    error_messages={
                        "invalid_choice": _(
                            "Choose a version SCP offers for this data flow: %(offered)s; "
                            "got '%%(value)s'."
                        )
                        % {"offered": ", ".join(choices).replace("%", "%%")}
                    },
                )
            else:
                self.fields[f"{component}_version"] = HeldRegexField(
                    label=_("%(component)s version") % {"component": label},
                    regex=VERSION_RE,
                    max_length=40,
                    error_messages={"invalid": _("Write a version such as 1.27.1.")},
                    help_text=_("SCP did not list the versions it offers; type one"),
                )
        for name, value in self._held_values(self.held_config or {}).items():
            if value is not None:
                self.fields[name].hold(value)

    @staticmethod
    def _held_values(config: dict[str, Any]) -> dict[str, Any]:
        values = {
            name: config.get(name)
            for name in ("account_id", "domain", "node_selector", "description")
        }
        for component in Workloads.COMPONENTS:
            workload = (config.get("workloads") or {}).get(component) or {}
            for attr in ("cpu", "memory", "replica", "version"):
                values[f"{component}_{attr}"] = workload.get(attr)
        return values

    def held_warnings(self) -> dict[str, str]:
        """Field name -> a warning about a held value that the rules would refuse."""
        warnings = {}
        for name, field in self.fields.items():
            if isinstance(field, HeldValueMixin) and (warning := field.held_warning()):
                warnings[name] = warning
        return warnings

    @staticmethod
    def initial_from(config: dict[str, Any], *, revision: int) -> dict[str, Any]:
        """Form values from a ServiceConfig dict (the password is never filled in)."""
        initial: dict[str, Any] = {
            "base_revision": revision,
            "account_id": config.get("account_id", ""),
            "domain": config.get("domain", ""),
            "node_selector": config.get("node_selector", ""),
            "host_alias_enabled": config.get("host_alias_enabled", False),
            "description": config.get("description", ""),
        }
        for component, workload in (config.get("workloads") or {}).items():
            for attr, value in (workload or {}).items():
                initial[f"{component}_{attr}"] = value
        return initial

    def desired_config(self, aliases: tuple[HostAlias, ...]) -> ServiceConfig:
        """The configuration the valid form asks for (held values exactly as held)."""
        data = self.cleaned_data
        workloads = Workloads(
            **{
                component: Workload(
                    cpu=data[f"{component}_cpu"],
                    memory=data[f"{component}_memory"],
                    replica=data[f"{component}_replica"],
                    version=data[f"{component}_version"],
                )
                for component in Workloads.COMPONENTS
            }
        )
        return ServiceConfig(
            account_id=data["account_id"],
            description=data["description"],
            domain=data["domain"],
            node_selector=data["node_selector"],
            host_alias_enabled=self.alias_switch(aliases),
            host_aliases=aliases,
            workloads=workloads,
        )


class ConfirmForm(forms.Form):
    """The reason kept with a change, asked for on the review page."""

    reason = forms.CharField(
        label=gettext_lazy("Reason for this change"),
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": gettext_lazy("Why, and a ticket if there is one")}
        ),
        help_text=gettext_lazy("Kept in the change history for the team leads."),
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
