"""A service's configuration as a YAML file, and a file read back as a planned edit.

The file is what the console manages of a service (ServiceConfig: never a password), in a
fixed field order, with the service's identity and the revision it was exported from. Read
back, the file's configuration is the one wanted: every field that differs is planned, so a
plan shows what applying the file would change, including what SCP changed since the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from console.dataflow.api.plans import desired_check, plan_create, plan_kind
from console.dataflow.api.serializers import DesiredInput
from console.dataflow.models import DEFAULT_CONNECTION, ApiPlan, ChangeRequest, Service
from console.dataflow.people.access import service_for
from console.dataflow.words.events import said_text
from console.scp import ServiceConfig

FORMAT = "data-flow-console/service-config/v1"


@dataclass(frozen=True)
class ConfigFile:
    """A file read back: the service it names and the configuration it wants."""

    service: Service
    revision: int | None
    desired: dict[str, Any]


@dataclass(frozen=True)
class Planned:
    """A file planned: the plan (None: nothing to change) and held-value warnings."""

    plan: ApiPlan | None
    warnings: dict[str, str]


def config_export(service: Service) -> str:
    """The service's configuration as YAML, fields always in the same order."""
    document = {
        "format": FORMAT,
        "service": {
            "name": service.name,
            "connection": service.connection_name,
            "scp_id": service.scp_id,
        },
        "revision": service.config_revision,
        # ServiceConfig's own order; a round trip through it drops anything it does not manage.
        "config": ServiceConfig.from_dict(service.config).to_dict(),
    }
    return yaml.safe_dump(document, sort_keys=False, allow_unicode=True, default_flow_style=False)


def config_read(text: str) -> ConfigFile:
    """The service and the wanted configuration of a file; ValidationError when unreadable."""
    document = _document(text)
    revision = document.get("revision")
    return ConfigFile(
        service=_service_named(document["service"]),
        revision=revision if isinstance(revision, int) else None,
        desired={key: value for key, value in document["config"].items() if value is not None},
    )


def _document(text: str) -> dict[str, Any]:
    """The file's YAML, checked to be one the console exported."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            {"file": [_("This is not YAML: %(error)s") % {"error": exc}]}
        ) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValidationError(
            {
                "format": [
                    _("Expected a file exported by the console (format: %(format)s).")
                    % {"format": FORMAT}
                ]
            }
        )
    if not isinstance(document.get("service"), dict) or not isinstance(
        document.get("config"), dict
    ):
        raise ValidationError({"config": [_("The file needs a service and a config.")]})
    return document


def _service_named(named: dict[str, Any]) -> Service:
    """The service a file names by connection and SCP id."""
    connection = named.get("connection") or DEFAULT_CONNECTION
    scp_id = str(named.get("scp_id") or "")
    service = Service.objects.filter(connection_name=connection, scp_id=scp_id).first()
    if service is None:
        raise ValidationError(
            {
                "service": [
                    _("No service with SCP id %(scp_id)s on connection %(connection)s.")
                    % {"scp_id": scp_id, "connection": connection}
                ]
            }
        )
    return service


def config_plan(*, file: ConfigFile, user, reason: str, ticket: str = "") -> Planned:
    """Plan the file's configuration as `user` would through the API (same roles and rules).

    `plan` is None when the service already holds the file's configuration.
    """
    desired = DesiredInput(data=file.desired)
    desired.is_valid(raise_exception=True)
    kind = plan_kind(user, desired.validated_data)
    perm = "edit_service" if kind == ChangeRequest.Kind.FULL else "edit_host_aliases"
    service = service_for(user, file.service.pk, perm)
    checked = desired_check(service, desired.validated_data)
    try:
        plan = plan_create(
            user=user,
            token=None,
            service=service,
            kind=kind,
            desired=checked.config,
            reason=reason,
            ticket=ticket,
            warnings=checked.warnings,
        )
    except ValidationError:  # the plan changes nothing
        return Planned(plan=None, warnings=checked.warnings)
    return Planned(plan=plan, warnings=checked.warnings)


def plan_lines(planned: Planned) -> list[str]:
    """The plan as lines of text: each field before → after, warnings, SCP's pre-check."""
    if planned.plan is None:
        return [_("Nothing to change: the service holds this configuration.")]
    plan = planned.plan
    lines = [
        f"{entry['field']}: {_shown(entry['before'])} → {_shown(entry['after'])}"
        for entry in plan.entries
    ]
    lines += [f"! {where}: {warning}" for where, warning in planned.warnings.items()]
    precheck = plan.precheck or {}
    lines.append(said_text(precheck.get("said")) or str(precheck.get("message", "")))
    return lines


def _shown(value: Any) -> str:
    """A value as the file writes it: a number or a word as it is, a list or a map in YAML's
    one-line form (a bare scalar would carry YAML's "..." end-of-document line)."""
    if value is None:
        return "—"
    if isinstance(value, dict | list):
        return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip()
    return str(value).lower() if isinstance(value, bool) else str(value)
