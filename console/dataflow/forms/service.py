"""The edit form of a service (admins) and the review page's confirm form."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.changes import validators as v
from console.dataflow.changes.configdiff import COMPONENT_LABELS
from console.dataflow.forms.held import (
    BaseRevisionField,
    HeldCharField,
    HeldChoiceField,
    HeldIntegerField,
    HeldRegexField,
    HeldValueMixin,
    NodeSelectorField,
)
from console.dataflow.forms.host_aliases import HostAliasSwitchForm
from console.dataflow.models import Service
from console.scp import HostAlias, ServiceConfig, Workload, Workloads

VERSION_RE = r"^[0-9A-Za-z][0-9A-Za-z.\-_+]{0,40}$"


def _cpu_field(label: str) -> HeldIntegerField:
    """A component's CPU in millicores."""
    return HeldIntegerField(
        label=_("%(component)s CPU (millicores)") % {"component": label},
        validators=[MinValueValidator(v.CPU_MIN), MaxValueValidator(v.CPU_MAX)],
        widget=forms.NumberInput(attrs={"data-unit": "cpu", "step": 100}),
        help_text=_("%(min)s-%(max)s; 1000 = 1 vCPU") % {"min": v.CPU_MIN, "max": v.CPU_MAX},
    )


def _memory_field(label: str) -> HeldIntegerField:
    """A component's memory in MiB."""
    return HeldIntegerField(
        label=_("%(component)s memory (MiB)") % {"component": label},
        validators=[MinValueValidator(v.MEMORY_MIN), MaxValueValidator(v.MEMORY_MAX)],
        widget=forms.NumberInput(attrs={"data-unit": "memory", "step": 128}),
        help_text=_("%(min)s-%(max)s; 1024 = 1 GiB") % {"min": v.MEMORY_MIN, "max": v.MEMORY_MAX},
    )


def _replica_field(component: str, label: str) -> HeldIntegerField:
    """A component's pod count; ZooKeeper's is odd, for a quorum."""
    replica_rules = [MinValueValidator(v.REPLICA_MIN), MaxValueValidator(v.REPLICA_MAX)]
    if component == "zookeeper":
        replica_rules.append(v.validate_odd_replicas)
    return HeldIntegerField(
        label=_("%(component)s replicas") % {"component": label},
        validators=replica_rules,
        help_text=_("odd, for a quorum (1, 3, 5 …)")
        if component == "zookeeper"
        else f"{v.REPLICA_MIN}-{v.REPLICA_MAX}",
    )


def _version_choices(component: str, service: Service, held: dict[str, Any] | None) -> list[str]:
    """The versions SCP offers for a component, and those the service runs or was opened on."""
    offered = {str(c) for c in (service.offered_versions or {}).get(component) or []}
    running = {_version_of(config, component) for config in (service.config, held)}
    return sorted(offered | {str(c) for c in running if c not in (None, "")})


def _version_of(config: dict[str, Any] | None, component: str) -> Any:
    """The version a configuration holds for a component (None when it holds none)."""
    workloads = (config or {}).get("workloads") or {}
    return (workloads.get(component) or {}).get("version")


def _version_field(label: str, choices: list[str]) -> HeldChoiceField | HeldRegexField:
    """A component's version: one of `choices`, or typed when SCP listed none."""
    if not choices:
        return HeldRegexField(
            label=_("%(component)s version") % {"component": label},
            regex=VERSION_RE,
            max_length=40,
            error_messages={"invalid": _("Write a version such as 1.27.1.")},
            help_text=_("SCP did not list the versions it offers; type one"),
        )
    return HeldChoiceField(
        label=_("%(component)s version") % {"component": label},
        choices=[(c, c) for c in choices],
        help_text=_("the versions SCP offers for this data flow"),
        error_messages={
            "invalid_choice": _(
                "Choose a version SCP offers for this data flow: %(offered)s; got '%%(value)s'."
            )
            % {"offered": ", ".join(choices).replace("%", "%%")}
        },
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
        for component, label in COMPONENT_LABELS.items():
            self.fields[f"{component}_cpu"] = _cpu_field(label)
            self.fields[f"{component}_memory"] = _memory_field(label)
            self.fields[f"{component}_replica"] = _replica_field(component, label)
            choices = _version_choices(component, service, self.held_config)
            self.fields[f"{component}_version"] = _version_field(label, choices)
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
    """The reason kept with a change, asked for on the review page, and a box to tick for
    each consequence that needs acknowledging."""

    reason = forms.CharField(
        label=gettext_lazy("Reason for this change"),
        max_length=1000,
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": gettext_lazy("Why, and a ticket if there is one")}
        ),
        help_text=gettext_lazy("Kept in the change history for the team leads."),
    )

    def __init__(self, *args: Any, acknowledgements: dict[str, str] | None = None, **kwargs: Any):
        """`acknowledgements`: a box to tick for each consequence that needs one (name: label)."""
        super().__init__(*args, **kwargs)
        for name, label in (acknowledgements or {}).items():
            self.fields[name] = forms.BooleanField(
                label=label,
                error_messages={
                    "required": _(
                        "Nothing was sent: tick this box to confirm you have read what the "
                        "change will do."
                    )
                },
            )
