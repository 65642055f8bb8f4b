"""Forms: they validate and build a ServiceConfig, nothing else."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from console.dataflow import validators as v
from console.dataflow.configdiff import COMPONENT_LABELS
from console.dataflow.hostsfile import hosts_parse
from console.dataflow.models import Service
from console.scp import HostAlias, ServiceConfig, Workload, Workloads

VERSION_RE = r"^[0-9A-Za-z][0-9A-Za-z.\-_+]{0,40}$"


class HostnameField(forms.CharField):
    """A host name Kubernetes accepts in /etc/hosts: a lower-case RFC 1123 subdomain."""

    default_validators = [v.validate_hostname]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 253)
        super().__init__(**kwargs)


class BaseRevisionField(forms.IntegerField):
    """The hidden revision of the configuration a form was opened on (stale-edit check)."""

    def __init__(self, **kwargs: Any) -> None:
        lost = "This form lost track of the configuration it was opened on; reload the page."
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault(
            "error_messages",
            {code: lost for code in ("required", "invalid", "min_value", "max_value")},
        )
        super().__init__(**kwargs)


class HostAliasForm(forms.Form):
    """One row of the host alias list: a host name and the IP it resolves to in the pods."""

    hostname = HostnameField(
        label="Host name",
        widget=forms.TextInput(attrs={"placeholder": "db.internal.example", "autocomplete": "off"}),
    )
    ip = forms.GenericIPAddressField(
        label="IP address",
        unpack_ipv4=False,
        widget=forms.TextInput(attrs={"placeholder": "10.0.0.12", "autocomplete": "off"}),
        error_messages={"invalid": "Enter a valid IPv4 or IPv6 address."},
    )


class BaseHostAliasFormSet(forms.BaseFormSet):
    """Rows of host aliases: at most 20, one IP per host name (Kubernetes keys them so)."""

    default_error_messages = {
        "too_many_forms": "SCP allows at most %(num)d host aliases; remove some rows.",
    }

    def clean(self) -> None:
        if self.management_form.cleaned_data.get("TOTAL_FORMS", 0) < 0:
            # A negative count would otherwise read as "no rows" and drop every alias.
            raise forms.ValidationError(
                "The host alias rows arrived incomplete; reload the page and edit again."
            )
        if any(self.errors):
            return
        seen: dict[str, str] = {}
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            hostname, ip = form.cleaned_data["hostname"], form.cleaned_data["ip"]
            if hostname in seen and seen[hostname] != ip:
                raise forms.ValidationError(
                    f"'{hostname}' points at both {seen[hostname]} and {ip}: "
                    "a host name may have only one IP."
                )
            if hostname in seen:
                raise forms.ValidationError(f"'{hostname}' is listed twice; keep one row.")
            seen[hostname] = ip

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
    validate_max=True,
    absolute_max=v.HOST_ALIASES_MAX + 30,
)


def host_alias_formset(
    *, data: Any = None, aliases: list[dict[str, str]] | None = None
) -> BaseHostAliasFormSet:
    """The host alias rows, bound to posted data or filled from a configuration."""
    if data is not None:
        return HostAliasFormSet(data, prefix="aliases")
    return HostAliasFormSet(initial=aliases or [], prefix="aliases")


class ServiceEditForm(forms.Form):
    """Every field an admin may change, pre-filled from the last known configuration."""

    base_revision = BaseRevisionField()
    account_id = forms.CharField(
        label="Account id", max_length=30, validators=[v.validate_account_id]
    )
    account_password = forms.CharField(
        label="New password",
        required=False,
        max_length=50,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the current password. 8-50 characters with upper case, "
        "lower case, digits and special characters.",
        validators=[v.validate_account_password],
    )
    domain = forms.CharField(label="Domain", max_length=50, validators=[v.validate_domain])
    node_selector = forms.CharField(
        label="Node selector",
        max_length=200,
        validators=[v.validate_node_selector],
        help_text="The Kubernetes node label the pods run on, e.g. nodepool=dataflow. "
        "A wrong label makes the installation fail.",
    )
    host_alias_enabled = forms.BooleanField(label="Host aliases enabled", required=False)
    description = forms.CharField(
        label="Description",
        required=False,
        max_length=v.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=f"At most {v.DESCRIPTION_MAX} characters.",
    )

    def __init__(self, *args: Any, service: Service, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.service = service
        offered = service.offered_versions or {}
        current = (service.config or {}).get("workloads") or {}
        for component, label in COMPONENT_LABELS.items():
            self.fields[f"{component}_cpu"] = forms.IntegerField(
                label=f"{label} CPU (millicores)",
                validators=[MinValueValidator(v.CPU_MIN), MaxValueValidator(v.CPU_MAX)],
                widget=forms.NumberInput(attrs={"data-unit": "cpu", "step": 100}),
                help_text=f"{v.CPU_MIN}-{v.CPU_MAX}; 1000 = 1 vCPU",
            )
            self.fields[f"{component}_memory"] = forms.IntegerField(
                label=f"{label} memory (MiB)",
                validators=[MinValueValidator(v.MEMORY_MIN), MaxValueValidator(v.MEMORY_MAX)],
                widget=forms.NumberInput(attrs={"data-unit": "memory", "step": 128}),
                help_text=f"{v.MEMORY_MIN}-{v.MEMORY_MAX}; 1024 = 1 GiB",
            )
            self.fields[f"{component}_replica"] = forms.IntegerField(
                label=f"{label} replicas",
                validators=[
                    MinValueValidator(v.REPLICA_MIN),
                    MaxValueValidator(v.REPLICA_MAX),
                ],
                help_text="odd, for a quorum (1, 3, 5 …)"
                if component == "zookeeper"
                else f"{v.REPLICA_MIN}-{v.REPLICA_MAX}",
            )
            choices = sorted(
                set(offered.get(component) or [])
                | ({(current.get(component) or {}).get("version")} - {None, ""})
            )
            if choices:
                self.fields[f"{component}_version"] = forms.ChoiceField(
                    label=f"{label} version",
                    choices=[(c, c) for c in choices],
                    help_text="the versions SCP offers for this data flow",
                    error_messages={
                        "invalid_choice": "Choose a version SCP offers for this data flow: "
                        f"{', '.join(choices).replace('%', '%%')}; got '%(value)s'."
                    },
                )
            else:
                self.fields[f"{component}_version"] = forms.RegexField(
                    label=f"{label} version",
                    regex=VERSION_RE,
                    max_length=40,
                    error_messages={"invalid": "Write a version such as 1.27.1."},
                    help_text="SCP did not list the versions it offers; type one",
                )

    def clean_node_selector(self) -> str:
        # "nodepool = dataflow , zone=a" is what people type; SCP wants "nodepool=dataflow,zone=a".
        pairs = self.cleaned_data["node_selector"].split(",")
        return ",".join("=".join(part.strip() for part in pair.split("=", 1)) for pair in pairs)

    def clean_zookeeper_replica(self) -> int:
        value = self.cleaned_data["zookeeper_replica"]
        if value % 2 == 0:
            raise forms.ValidationError(
                f"ZooKeeper needs an odd number of replicas for a quorum (1, 3, 5 …); got {value}."
            )
        return value

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
        """The configuration the valid form asks for."""
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
            description=data["description"].strip(),
            domain=data["domain"],
            node_selector=data["node_selector"].strip(),
            host_alias_enabled=data["host_alias_enabled"],
            host_aliases=aliases,
            workloads=workloads,
        )


class ConfirmForm(forms.Form):
    """The reason kept with a change, asked for on the review page."""

    reason = forms.CharField(
        label="Reason for this change",
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": "Why, and a ticket if there is one"}
        ),
        help_text="Kept in the change history for the team leads.",
    )


class HostsFileField(forms.CharField):
    """Host aliases pasted as hosts-file lines: `10.0.0.5 db.internal db`, one IP per line."""

    widget = forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "font-monospace"})

    def to_python(self, value: Any) -> tuple[HostAlias, ...]:
        return hosts_parse(super().to_python(value) or "")

    def validate(self, value: tuple[HostAlias, ...]) -> None:
        """An empty list is a valid answer: it removes every alias."""


class HostAliasesForm(forms.Form):
    """Support's page: the host alias list and nothing else, with a ticket and a reason."""

    base_revision = BaseRevisionField()
    host_alias_enabled = forms.BooleanField(label="Host aliases enabled", required=False)
    hosts = HostsFileField(
        label="Host aliases (hosts-file lines)",
        required=False,
        help_text="One line per IP: the IP, then its host names, e.g. "
        "'10.0.0.5 db.internal.example'. Paste from a hosts file; '#' starts a comment. "
        f"At most {v.HOST_ALIASES_MAX} host names.",
    )
    ticket = forms.CharField(
        label="Ticket",
        max_length=100,
        help_text="The support ticket this fixes, e.g. SUP-1234.",
    )
    reason = forms.CharField(
        label="Reason",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in the change history.",
    )
