"""Planning a change: the diff of the desired configuration against the last known one, and
SCP's pre-check of new workloads."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.dataflow.changes.configdiff import config_diff, diff_summary
from console.dataflow.changes.steps import error_record
from console.dataflow.connections.clients import (
    PAGE_WAIT_SECONDS,
    ConnectionUnavailable,
    scp_client_for,
)
from console.dataflow.models import ChangeRequest, Service
from console.dataflow.words.events import Said, is_said, said, said_english
from console.scp import ResourceCheck, ScpError, ServiceConfig, Workloads


@dataclass(frozen=True)
class Plan:
    """What a submit would change: the diff of the desired config against the last known one."""

    service_id: int
    base_revision: int
    base_config: dict[str, Any]
    desired_config: dict[str, Any]
    password_changed: bool
    kind: str
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        return diff_summary(self.entries)

    @property
    def workloads_changed(self) -> bool:
        return any(e["field"].startswith("workloads.") for e in self.entries)


def change_plan(
    *,
    service: Service,
    desired: ServiceConfig,
    password_changed: bool,
    base_revision: int | None = None,
    kind: str = ChangeRequest.Kind.FULL,
) -> Plan:
    """Compare the desired configuration with the service's last known one."""
    desired_config = desired.to_dict()
    return Plan(
        service_id=service.pk,
        base_revision=service.config_revision if base_revision is None else base_revision,
        base_config=service.config,
        desired_config=desired_config,
        password_changed=password_changed,
        kind=kind,
        entries=config_diff(service.config, desired_config, password_changed=password_changed),
    )


@dataclass(frozen=True)
class Precheck:
    """The verdict of SCP's validate-resources on a plan's workloads."""

    needed: bool
    ok: bool  # the admin may confirm: anything but a clear "no"
    message: Said | str  # as facts (said in each reader's language), or plain text
    verdict: str = "none"  # skipped, yes, no, none (no verdict), unreachable
    check: ResourceCheck | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as stored with the draft and the change: the facts and their English."""
        facts = self.message if is_said(self.message) else None
        return {
            "needed": self.needed,
            "ok": self.ok,
            "verdict": self.verdict,
            "said": facts,
            "message": said_english(facts) if facts else str(self.message),
            "error": self.error,
        }


def change_precheck(*, service: Service, plan: Plan) -> Precheck:
    """Ask SCP whether the cluster can take the new workloads; only when workloads change.

    Only a clear "no" blocks the confirm button: SCP documents one answer of this call,
    `{"cpu": "CPU", "err_code": "", "memory": "Memory", "result": ""}`, which says nothing,
    and no verdict is not a "no".
    """
    if not plan.workloads_changed:
        return Precheck(
            needed=False,
            ok=True,
            verdict="skipped",
            message=said("Workloads unchanged: no pre-check."),
        )
    workloads = ServiceConfig.from_dict(plan.desired_config).workloads
    assert isinstance(workloads, Workloads)
    try:
        check = scp_client_for(service.connection_name, wait=PAGE_WAIT_SECONDS).validate_resources(
            service.scp_id, workloads
        )
    except (ScpError, ConnectionUnavailable) as exc:
        return _precheck_unanswered(exc)
    return _precheck_verdict(check)


def _precheck_unanswered(exc: Exception) -> Precheck:
    """SCP could not be asked, or refused the question: say so, but do not block (SCP
    validates the update itself, and its answer reaches the change page)."""
    error = error_record(exc)
    return Precheck(
        True,
        True,
        said(
            "SCP's pre-check gave no verdict: %(error)s",
            error=error.get("said") or error["message"],
        ),
        verdict="unreachable",
        error=error,
    )


def _precheck_verdict(check: ResourceCheck) -> Precheck:
    """SCP's answer as a verdict: only a clear "no" keeps the admin from confirming."""
    if check.verdict == "no":
        return Precheck(True, False, _precheck_refusal(check), verdict="no", check=check)
    if check.verdict == "yes":
        return Precheck(
            True,
            True,
            said("SCP's pre-check confirms the cluster can take these workloads."),
            verdict="yes",
            check=check,
        )
    return Precheck(
        True,
        True,
        said(
            "SCP's pre-check gave no verdict (its answer does not say yes or no). You may "
            "confirm: SCP validates the update itself and the change page shows its answer."
        ),
        verdict="none",
        check=check,
    )


def _precheck_refusal(check: ResourceCheck) -> Said:
    """SCP's "no", with its error code when it gave one, and what to do about it."""
    if check.err_code:
        return said(
            "SCP's pre-check says the cluster cannot take these workloads (%(code)s). "
            "Lower the workloads, or ask the cluster's administrator for room.",
            code=check.err_code,
        )
    return said(
        "SCP's pre-check says the cluster cannot take these workloads. "
        "Lower the workloads, or ask the cluster's administrator for room."
    )
