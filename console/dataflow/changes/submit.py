"""Submitting a change: the confirmed plan becomes a queued change (or one awaiting approval),
and a queued change may be cancelled before a worker takes it."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import approval_needed
from console.dataflow.changes.language import scp_language
from console.dataflow.changes.lifecycle import change_create, change_move
from console.dataflow.changes.plan import Plan
from console.dataflow.changes.schedule import scheduled_event, scheduled_until
from console.dataflow.changes.steps import SEND_TASK, change_enqueue
from console.dataflow.connections import crypto
from console.dataflow.models import IN_FLIGHT, ChangeRequest, Service
from console.dataflow.words.events import Said, said

Status = ChangeRequest.Status


class ChangeRefused(Exception):
    """A change cannot be submitted; the message says why and what to do."""


class NothingToChange(ChangeRefused):
    """The plan changes nothing."""


class ChangeInFlight(ChangeRefused):
    """Another change of this service is still on its way."""

    def __init__(self, message: str, *, change: ChangeRequest | None) -> None:
        super().__init__(message)
        self.change = change


class StaleEdit(ChangeRefused):
    """The form was opened on an older configuration than the one now known."""

    def __init__(self, message: str, *, service: Service) -> None:
        super().__init__(message)
        self.service = service


def change_submit(
    *,
    plan: Plan,
    author,
    reason: str,
    new_password: str | None = None,
    ticket: str = "",
    precheck: dict[str, Any] | None = None,
    fleet=None,
) -> ChangeRequest:
    """Record the confirmed plan as a queued change and hand it to Celery after commit.

    Where the service's connection needs approval the change waits in Awaiting approval and
    nothing is enqueued; while its connection is outside its maintenance windows it waits
    Scheduled until the next one starts. A member of a fleet change was approved with its
    fleet, as a whole.
    """
    _plan_check(plan)
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=plan.service_id)
        _service_check(service, plan)
        waits = fleet is None and approval_needed(connection_name=service.connection_name)
        # A fleet's members go wave by wave, each wave started while the windows allow.
        later = None if waits or fleet is not None else _window_wait(service)
        decided = fleet.decision_fields() if fleet is not None else {}
        author_name = author.get_username()
        status, first_event = _first_status(author_name=author_name, waits=waits, fleet=fleet)
        if later is not None:
            status, first_event = Status.SCHEDULED, scheduled_event(author_name)
        change = _change_create(
            status=status,
            message=first_event,
            next_poll_at=later,
            fleet=fleet,
            precheck=precheck,
            **decided,
            service=service,
            author=author,
            author_name=author_name,
            reason=reason.strip(),
            ticket=ticket.strip(),
            **_plan_fields(plan, new_password=new_password),
        )
        if waits or later is not None:
            return change
        transaction.on_commit(lambda: change_enqueue(SEND_TASK, change.pk))
    return change


def _window_wait(service: Service):
    """The start of the service's next maintenance window when it is closed now, else None."""
    return scheduled_until(service, now=timezone.now())


def _plan_check(plan: Plan) -> None:
    """Refuse a plan that changes nothing, or a host alias change that changes anything else."""
    if not plan.entries:
        raise NothingToChange(_("This change changes nothing: edit at least one field."))
    if plan.kind == ChangeRequest.Kind.HOST_ALIASES and any(
        e["section"] != "Host aliases" and e["field"] != "host_alias_enabled" for e in plan.entries
    ):
        # The support page may touch host aliases only, whatever reaches this function.
        raise ChangeRefused(_("A host alias change may change host aliases only."))


def _service_check(service: Service, plan: Plan) -> None:
    """Refuse a change of a gone service, on an older configuration, or while one is in flight."""
    if service.is_gone:
        raise ChangeRefused(_("SCP no longer lists this service: a change cannot be sent."))
    if service.config_revision != plan.base_revision:
        raise StaleEdit(
            _(
                "The service's configuration changed since you opened the form; "
                "review the newer values and make your edit again."
            ),
            service=service,
        )
    in_flight = service.changes.filter(status__in=IN_FLIGHT).first()
    if in_flight:
        raise ChangeInFlight(
            _("Change #%(number)s of this service is still %(status)s; wait until it is final.")
            % {"number": in_flight.pk, "status": in_flight.get_status_display()},
            change=in_flight,
        )


def _first_status(*, author_name: str, waits: bool, fleet) -> tuple[str, Said]:
    """A new change's status and first timeline event: awaiting approval, or queued."""
    if waits:
        return Status.AWAITING_APPROVAL, said(
            "Confirmed by %(author)s; waiting for a team lead or another admin to "
            "approve it. Nothing is sent before.",
            author=author_name,
        )
    if fleet is not None:
        return Status.QUEUED, said(
            "Queued by %(author)s (fleet change #%(fleet)s).",
            author=author_name,
            fleet=fleet.pk,
        )
    return Status.QUEUED, said("Queued by %(author)s.", author=author_name)


def _plan_fields(plan: Plan, *, new_password: str | None) -> dict[str, Any]:
    """The change's columns that come from its plan (the new password stored encrypted)."""
    return {
        "kind": plan.kind,
        "base_revision": plan.base_revision,
        "base_config": plan.base_config,
        "desired_config": plan.desired_config,
        "account_password_encrypted": crypto.encrypt(new_password or ""),
        "password_changed": bool(new_password),
        "diff": plan.entries,
        "language": scp_language(),
    }


def _change_create(**fields: Any) -> ChangeRequest:
    """`change_create`, telling a race lost to another submit as a change in flight."""
    try:
        return change_create(**fields)
    except IntegrityError:
        # Another request won the race between the check above and this insert.
        raise ChangeInFlight(
            _("Another change of this service was submitted a moment ago."), change=None
        ) from None


def change_cancel(*, change: ChangeRequest, by) -> bool:
    """Withdraw a change that no worker has taken yet (queued, or scheduled for a maintenance
    window); False when it is already on its way."""
    message = said("Cancelled by %(name)s.", name=by.get_username())
    return change_move(
        change.pk, frm=(Status.QUEUED, Status.SCHEDULED), to=Status.CANCELLED, message=message
    )
