"""Plans made through the API: a partial edit checked by the edit page's own rules, stored as a
row, and confirmed once through the review page's own submit.

A plan row carries the revision it was planned on and the desired configuration, so confirming
it later sends exactly what was shown; when SCP's configuration moved since, the confirm is
refused (409) and a new plan is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from console.dataflow.changes.approvals import approval_needed
from console.dataflow.changes.drafts import edits_rebase
from console.dataflow.changes.lifecycle import change_note
from console.dataflow.changes.plan import Plan, change_plan, change_precheck
from console.dataflow.changes.submit import ChangeRefused, change_submit
from console.dataflow.forms.host_aliases import host_alias_formset
from console.dataflow.forms.service import ServiceEditForm
from console.dataflow.models import ApiOrigin, ApiPlan, ApiToken, ChangeRequest, Service
from console.dataflow.words.events import said
from console.scp import ServiceConfig, Workloads

HOST_ALIAS_FIELDS = frozenset({"host_aliases", "host_alias_enabled"})
WORKLOAD_ATTRS = ("cpu", "memory", "replica", "version")


class PlanUsed(ChangeRefused):
    """The plan was confirmed already; it made this change."""

    def __init__(self, message: str, *, change_id: int) -> None:
        super().__init__(message)
        self.change_id = change_id


@dataclass(frozen=True)
class Checked:
    """A desired configuration that passed the edit page's rules, and its held-value warnings."""

    config: ServiceConfig
    warnings: dict[str, str]


def plan_kind(user, desired: dict[str, Any]) -> str:
    """The kind of change a person may make with this edit, or 403."""
    if user.has_perm("dataflow.edit_service"):
        return ChangeRequest.Kind.FULL
    if user.has_perm("dataflow.edit_host_aliases"):
        if set(desired) <= HOST_ALIAS_FIELDS:
            return ChangeRequest.Kind.HOST_ALIASES
        raise PermissionDenied(_("Your role may change host aliases only."))
    raise PermissionDenied(_("Your role may not change services."))


def desired_merge(config: dict[str, Any], desired: dict[str, Any]) -> dict[str, Any]:
    """The whole configuration: `desired` (a partial edit) over `config`.

    Workloads merge per component and value; host aliases, when given, replace the list.
    """
    merged = {**config, **{k: v for k, v in desired.items() if k != "workloads"}}
    workloads = {name: dict(part) for name, part in (config.get("workloads") or {}).items()}
    for name, part in (desired.get("workloads") or {}).items():
        workloads[name] = {**workloads.get(name, {}), **part}
    merged["workloads"] = workloads or None
    return merged


def _form_data(service: Service, merged: dict[str, Any], keep_off: bool) -> dict[str, Any]:
    """The edit form's and host alias rows' fields, as the edit page would post them."""
    data: dict[str, Any] = ServiceEditForm.initial_from(merged, revision=service.config_revision)
    if not merged.get("host_alias_enabled"):
        data.pop("host_alias_enabled")  # an unticked box is absent from a post
    if keep_off:
        data["host_alias_keep_off"] = "on"
    aliases = merged.get("host_aliases") or []
    data.update(
        {
            "aliases-TOTAL_FORMS": str(len(aliases)),
            "aliases-INITIAL_FORMS": "0",
            "aliases-MIN_NUM_FORMS": "0",
            "aliases-MAX_NUM_FORMS": "1000",
        }
    )
    for number, alias in enumerate(aliases):
        data[f"aliases-{number}-hostname"] = alias.get("hostname", "")
        data[f"aliases-{number}-ip"] = alias.get("ip", "")
    return data


def _field_path(name: str) -> list[str]:
    """Where an edit form field sits in the API's `desired` object."""
    for component in Workloads.COMPONENTS:
        for attr in WORKLOAD_ATTRS:
            if name == f"{component}_{attr}":
                return ["workloads", component, attr]
    if name in ("host_alias_keep_off", "__all__", "base_revision"):
        return ["non_field_errors"]
    return [name]


def _nest(errors: dict[str, Any], path: list[str], messages: list[str]) -> None:
    for part in path[:-1]:
        errors = errors.setdefault(part, {})
    errors.setdefault(path[-1], []).extend(messages)


def desired_check(service: Service, desired: dict[str, Any]) -> Checked:
    """The edit over the service's newest configuration, checked by the edit page's forms.

    Values SCP already holds pass as held (with a warning when a rule would refuse them); what
    the edit changes meets every rule. Raises ValidationError shaped like `desired`.
    """
    merged = desired_merge(service.config, desired)
    keep_off = desired.get("host_alias_enabled") is False
    data = _form_data(service, merged, keep_off)
    form = ServiceEditForm(data, service=service, held=service.config)
    formset = host_alias_formset(data=data, held=service.config)
    form_ok, formset_ok = form.is_valid(), formset.is_valid()
    if not (form_ok and formset_ok):
        raise ValidationError({"desired": _errors(form, formset)})
    return Checked(
        config=form.desired_config(formset.aliases()), warnings=_held_warnings(form, formset)
    )


def _errors(form: ServiceEditForm, formset) -> dict[str, Any]:
    """The forms' errors, placed where their fields sit in `desired`."""
    errors: dict[str, Any] = {}
    for name, messages in form.errors.items():
        _nest(errors, _field_path(name), list(messages))
    rows = [dict(row_errors) for row_errors in formset.errors]
    if any(rows):
        errors["host_aliases"] = rows
    elif formset.non_form_errors():
        errors["host_aliases"] = list(formset.non_form_errors())
    return errors


def _held_warnings(form: ServiceEditForm, formset) -> dict[str, str]:
    """Held values a rule would refuse, by where they sit in `desired`."""
    warnings = {
        ".".join(_field_path(name)): str(warning) for name, warning in form.held_warnings().items()
    }
    for number, row in enumerate(formset.forms):
        if row_warnings := row.held_warnings():
            warnings[f"host_aliases.{number}"] = " ".join(str(w) for w in row_warnings)
    return warnings


def plan_create(
    *,
    user,
    token: ApiToken | None,
    service: Service,
    kind: str,
    desired: ServiceConfig,
    reason: str,
    ticket: str,
    warnings: dict[str, str] | None = None,
) -> ApiPlan:
    """Plan the desired configuration on the service's newest one, with SCP's pre-check.

    Raises ValidationError when it changes nothing.
    """
    plan = change_plan(
        service=service,
        desired=desired,
        password_changed=False,
        base_revision=service.config_revision,
        kind=kind,
    )
    if not plan.entries:
        raise ValidationError(
            {"desired": [_("This change changes nothing: edit at least one field.")]}
        )
    precheck = change_precheck(service=service, plan=plan).to_dict()
    return ApiPlan.objects.create(
        user=user,
        token=token,
        service=service,
        kind=plan.kind,
        base_revision=plan.base_revision,
        base_config=plan.base_config,
        desired_config=plan.desired_config,
        entries=plan.entries,
        precheck=precheck,
        warnings=warnings or {},
        reason=reason.strip(),
        ticket=ticket.strip(),
    )


def plan_from_change(*, user, token: ApiToken | None, change: ChangeRequest) -> ApiPlan | None:
    """A new plan of what a failed change asked for, on today's configuration (None: held)."""
    service = change.service
    rebased = edits_rebase(
        service=service,
        opened_revision=change.base_revision,
        opened_config=change.base_config,
        desired=change.desired_config,
    )
    desired = ServiceConfig.from_dict(rebased.desired_config)
    try:
        return plan_create(
            user=user,
            token=token,
            service=service,
            kind=change.kind,
            desired=desired,
            reason=change.reason,
            ticket=change.ticket,
        )
    except ValidationError:  # nothing left to change: SCP holds it already
        return None


def plan_needs_approval(plan: ApiPlan) -> bool:
    """Whether a change of this plan would wait for an approver."""
    return approval_needed(connection_name=plan.service.connection_name)


def plan_confirm(*, plan: ApiPlan, user, from_file: bool = False) -> ChangeRequest:
    """The plan as a change, through the review page's own submit; a plan makes one change.

    The change's timeline and its ApiOrigin say it came through the API (with which token, or
    in a session) or from a configuration file (`from_file`).

    Raises PlanUsed, StaleEdit (SCP's configuration moved since), ChangeInFlight or
    ChangeRefused, with nothing written.
    """
    with transaction.atomic():
        # of=self: PostgreSQL locks no row of an outer join (the token may be empty).
        locked = (
            ApiPlan.objects.select_for_update(of=("self",)).select_related("token").get(pk=plan.pk)
        )
        if locked.change_id is not None:
            raise PlanUsed(
                _("This plan was confirmed already, as change #%(number)s.")
                % {"number": locked.change_id},
                change_id=locked.change_id,
            )
        if not (locked.precheck or {}).get("ok", True):
            raise ChangeRefused(_("SCP's pre-check failed; change the workloads first."))
        change = change_submit(
            plan=Plan(
                service_id=locked.service_id,
                base_revision=locked.base_revision,
                base_config=locked.base_config,
                desired_config=locked.desired_config,
                password_changed=False,
                kind=locked.kind,
                entries=locked.entries,
            ),
            author=user,
            reason=locked.reason,
            ticket=locked.ticket,
            precheck=locked.precheck,
        )
        ApiPlan.objects.filter(pk=locked.pk).update(change=change)
        _origin_record(change, locked.token, from_file=from_file)
    return change


def _origin_record(change: ChangeRequest, token: ApiToken | None, *, from_file: bool) -> None:
    """Where a change came from, as a row and as a line of its timeline."""
    if from_file:
        via, note = ApiOrigin.Via.FILE, said("Came from a configuration file (apply_config).")
    elif token is not None:
        via = ApiOrigin.Via.TOKEN
        note = said("Came through the API, token %(token)s.", token=token.name)
    else:
        via, note = ApiOrigin.Via.SESSION, said("Came through the API, in a signed-in session.")
    ApiOrigin.objects.create(
        change=change, token=token, token_name=token.name if token else "", via=via
    )
    change_note(change.pk, message=note)
