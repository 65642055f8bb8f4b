"""The change pipeline: plan → submit → send (Celery) → track (Celery) → final status.

Each step is one function; data flows one way. Tasks call `change_send` and `change_track`
with a row id; everything they need is on the row. Secrets stay encrypted on the row and
are erased when the change is final.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from console.dataflow import crypto
from console.dataflow.configdiff import config_apply, config_diff, diff_summary
from console.dataflow.connections import ConnectionUnavailable, scp_client_for
from console.dataflow.models import IN_FLIGHT, ChangeEvent, ChangeRequest, Service
from console.dataflow.sync import service_apply_detail
from console.scp import (
    ResourceCheck,
    ScpError,
    ScpUnavailable,
    ServiceConfig,
    Workloads,
    build_update_body,
)

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status

SEND_TASK = "dataflow.change_send"
TRACK_TASK = "dataflow.change_track"
SEND_MAX_ATTEMPTS = 6
POLL_ERRORS_TOLERATED = 5
BUSY_STATES = ("UPDATING", "EDITING")


# --- Errors a person sees -----------------------------------------------------------------


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


class RetryLater(Exception):
    """A transient fault: the task should run again after `countdown` seconds."""

    def __init__(self, reason: str, *, countdown: float) -> None:
        super().__init__(reason)
        self.countdown = countdown


# --- Plan ---------------------------------------------------------------------------------


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
    ok: bool
    message: str
    check: ResourceCheck | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"needed": self.needed, "ok": self.ok, "message": self.message, "error": self.error}


def change_precheck(*, service: Service, plan: Plan) -> Precheck:
    """Ask SCP whether the cluster can take the new workloads; only when workloads change."""
    if not plan.workloads_changed:
        return Precheck(needed=False, ok=True, message="Workloads unchanged: no pre-check needed.")
    workloads = ServiceConfig.from_dict(plan.desired_config).workloads
    assert isinstance(workloads, Workloads)
    try:
        check = scp_client_for(service.connection_name).validate_resources(
            service.scp_id, workloads
        )
    except (ScpError, ConnectionUnavailable) as exc:
        error = exc.to_dict() if isinstance(exc, ScpError) else {"message": str(exc)}
        if isinstance(exc, ScpError) and exc.permanent:
            return Precheck(True, False, f"SCP refused the pre-check: {exc.message}", error=error)
        # SCP could not be asked: say so, but do not block (the PUT is validated by SCP anyway).
        return Precheck(
            True, True, f"The pre-check could not reach SCP: {error['message']}", error=error
        )
    if check.ok:
        return Precheck(True, True, "SCP confirms the cluster has room for these workloads.", check)
    detail = f" ({check.err_code})" if check.err_code else ""
    return Precheck(
        True,
        False,
        f"SCP says the cluster lacks resources for these workloads{detail}: "
        f"available CPU {check.cpu} m, memory {check.memory} MiB.",
        check,
    )


# --- Submit -------------------------------------------------------------------------------


def change_submit(
    *,
    plan: Plan,
    author,
    reason: str,
    new_password: str | None = None,
    ticket: str = "",
) -> ChangeRequest:
    """Record the confirmed plan as a queued change and hand it to Celery after commit."""
    if not plan.entries:
        raise NothingToChange("This change changes nothing: edit at least one field.")
    if plan.kind == ChangeRequest.Kind.HOST_ALIASES and any(
        e["section"] != "Host aliases" and e["field"] != "host_alias_enabled" for e in plan.entries
    ):
        # The support page may touch host aliases only, whatever reaches this function.
        raise ChangeRefused("A host alias change may change host aliases only.")
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=plan.service_id)
        if service.config_revision != plan.base_revision:
            raise StaleEdit(
                "The service's configuration changed since you opened the form; "
                "review the newer values and make your edit again.",
                service=service,
            )
        in_flight = service.changes.filter(status__in=IN_FLIGHT).first()
        if in_flight:
            raise ChangeInFlight(
                f"Change #{in_flight.pk} of this service is still "
                f"{in_flight.get_status_display()}; wait until it is final.",
                change=in_flight,
            )
        try:
            with transaction.atomic():
                change = ChangeRequest.objects.create(
                    service=service,
                    author=author,
                    author_name=author.get_username(),
                    kind=plan.kind,
                    reason=reason.strip(),
                    ticket=ticket.strip(),
                    base_revision=plan.base_revision,
                    base_config=plan.base_config,
                    desired_config=plan.desired_config,
                    account_password_encrypted=crypto.encrypt(new_password or ""),
                    password_changed=bool(new_password),
                    diff=plan.entries,
                )
        except IntegrityError:
            # Another request won the race between the check above and this insert.
            raise ChangeInFlight(
                "Another change of this service was submitted a moment ago.", change=None
            ) from None
        _event(change, Status.QUEUED, f"Queued by {change.author_name}.")
        transaction.on_commit(lambda: _enqueue(SEND_TASK, change.pk))
    return change


def change_cancel(*, change: ChangeRequest, by) -> bool:
    """Withdraw a change that no worker has taken yet; False when it is already on its way."""
    with transaction.atomic():
        taken = ChangeRequest.objects.filter(pk=change.pk, status=Status.QUEUED).update(
            status=Status.CANCELLED,
            finished_at=timezone.now(),
            account_password_encrypted="",
            next_poll_at=None,
        )
        if taken:
            _event(change, Status.CANCELLED, f"Cancelled by {by.get_username()}.")
    return bool(taken)


def _enqueue(task_name: str, change_id: int, countdown: float | None = None) -> bool:
    """Hand a change to Celery; a broker outage leaves it queued for the sweeper."""
    try:
        current_app.send_task(task_name, args=[change_id], countdown=countdown)
    except Exception as exc:  # kombu raises several kinds when the broker is unreachable
        logger.warning("could not enqueue %s for change %s: %s", task_name, change_id, exc)
        change = ChangeRequest.objects.filter(pk=change_id).first()
        if change is not None:
            _event(
                change,
                change.status,
                "The task queue is unreachable right now; the change is kept and will be "
                "handed to a worker as soon as the queue answers again.",
            )
        return False
    return True


# --- Send (Celery) ------------------------------------------------------------------------


def change_send(*, change_id: int, final_attempt: bool) -> None:
    """Claim a queued change, PUT the merged configuration to SCP, record the 202 answer.

    Raises RetryLater for transient faults (the row is back in QUEUED); `final_attempt`
    turns such a fault into Failed instead.
    """
    claimed = ChangeRequest.objects.filter(pk=change_id, status=Status.QUEUED).update(
        status=Status.SUBMITTING, attempts=F("attempts") + 1, submitted_at=timezone.now()
    )
    if not claimed:
        return  # cancelled, or another worker has it: claims make a second delivery harmless
    change = ChangeRequest.objects.select_related("service").get(pk=change_id)
    service = change.service
    _event(
        change, Status.SUBMITTING, f"Attempt {change.attempts}: sending the signed update to SCP."
    )
    put_sent = False
    try:
        client = scp_client_for(service.connection_name)
        current = client.get_service(service.scp_id)
        if current.is_state(*BUSY_STATES):
            if change.put_unconfirmed:
                # An earlier PUT got through although its answer was lost: follow it.
                _accepted(
                    change,
                    current,
                    "SCP is updating the service: the earlier attempt reached it although "
                    "its answer was lost. Tracking it instead of sending it again.",
                )
                return
            raise ScpUnavailable(
                f"SCP reports the service as {current.state}: another update is in progress "
                "and SCP refuses a second one meanwhile.",
                code="ServiceBusy",
            )
        merged = config_apply(current.config.to_dict(), change.base_config, change.desired_config)
        body = build_update_body(
            ServiceConfig.from_dict(merged),
            account_password=crypto.decrypt(change.account_password_encrypted) or None,
        )
        ChangeRequest.objects.filter(pk=change.pk).update(
            desired_config=merged, put_unconfirmed=True
        )
        change.desired_config = merged
        put_sent = True
        accepted = client.update_service(service.scp_id, body)
    except ConnectionUnavailable as exc:
        _fail(change, str(exc), error={"message": str(exc), "kind": "ConnectionUnavailable"})
        return
    except ScpError as exc:
        if put_sent and _definitive(exc):
            ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=False)
        if exc.permanent or final_attempt:
            _fail(change, _scp_sentence(exc, gave_up=not exc.permanent), error=exc.to_dict())
            return
        countdown = min(60.0, 2.0 * 2 ** (change.attempts - 1))
        ChangeRequest.objects.filter(pk=change.pk).update(
            status=Status.QUEUED, next_poll_at=timezone.now() + timedelta(seconds=countdown)
        )
        _event(
            change,
            Status.QUEUED,
            f"{_scp_sentence(exc, gave_up=False)} Trying again in {countdown:g} s "
            f"(attempt {change.attempts + 1} of {SEND_MAX_ATTEMPTS}).",
        )
        raise RetryLater(exc.message, countdown=countdown) from None
    _accepted(
        change, accepted, f"SCP accepted the update (202); service state {accepted.state or '?'}."
    )


def _definitive(exc: ScpError) -> bool:
    """SCP refused the PUT, so it was not applied: not a timeout, a 502/504 or an unreadable 2xx."""
    return exc.status is not None and exc.status >= 300 and exc.status not in (502, 504)


def _accepted(change: ChangeRequest, detail, message: str) -> None:
    now = timezone.now()
    first_poll = settings.SCP_TRACK_FIRST_POLL_SECONDS
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.ACCEPTED,
        accepted_at=now,
        put_unconfirmed=False,
        scp_answer=detail.raw,
        web_url_nifi=detail.web_url_nifi,
        web_url_registry=detail.web_url_registry,
        track_deadline=now + timedelta(minutes=settings.SCP_TRACK_DEADLINE_MINUTES),
        next_poll_at=now + timedelta(seconds=first_poll),
    )
    Service.objects.filter(pk=change.service_id).update(state=detail.state or "UPDATING")
    _event(change, Status.ACCEPTED, message)
    _enqueue(TRACK_TASK, change.pk, countdown=first_poll)


# --- Track (Celery) -----------------------------------------------------------------------


def change_track(*, change_id: int) -> float | None:
    """Poll SCP once for an accepted change and schedule the next poll until it is final.

    Returns the seconds until the next poll, None when the change is final.
    """
    change = ChangeRequest.objects.select_related("service").filter(pk=change_id).first()
    if change is None or change.status not in (Status.ACCEPTED, Status.UPDATING):
        return None
    service = change.service
    now = timezone.now()
    try:
        detail = scp_client_for(service.connection_name).get_service(service.scp_id)
    except (ScpError, ConnectionUnavailable) as exc:
        if isinstance(exc, ScpError) and not exc.permanent:
            return _poll_failed(change, exc, now)
        error = exc.to_dict() if isinstance(exc, ScpError) else {"message": str(exc)}
        _fail(change, f"Lost track of the service: {error['message']}", error=error)
        return None

    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        service_apply_detail(service=locked, detail=detail)
    ChangeRequest.objects.filter(pk=change.pk).update(
        polls=F("polls") + 1,
        poll_errors_in_a_row=0,
        web_url_nifi=detail.web_url_nifi or change.web_url_nifi,
        web_url_registry=detail.web_url_registry or change.web_url_registry,
    )

    if detail.is_state("ERROR") or detail.cluster_request_failed:
        why = "state ERROR" if detail.is_state("ERROR") else "cluster_request_failed"
        _fail(
            change,
            f"SCP reports {why} for the service (state {detail.state}): the update failed.",
            error={"message": f"SCP reports {why}.", "state": detail.state},
        )
        return None
    if detail.is_state("RUNNING"):
        differences = config_diff(change.desired_config, detail.config.to_dict())
        _finish(change, differences)
        return None
    if change.status == Status.ACCEPTED or detail.state != service.state:
        ChangeRequest.objects.filter(pk=change.pk).update(status=Status.UPDATING)
        _event(change, Status.UPDATING, f"SCP reports the service as {detail.state or 'unknown'}.")
    if change.track_deadline and now >= change.track_deadline:
        _fail(
            change,
            f"Gave up waiting after {settings.SCP_TRACK_DEADLINE_MINUTES:g} minutes: SCP still "
            f"reports {detail.state}. Check the service in SCP before changing it again.",
            error={"message": "tracking deadline passed", "state": detail.state},
        )
        return None
    return _schedule_next_poll(change, now)


def _poll_failed(change: ChangeRequest, exc: ScpError, now) -> float | None:
    errors = change.poll_errors_in_a_row + 1
    ChangeRequest.objects.filter(pk=change.pk).update(poll_errors_in_a_row=errors)
    if errors == POLL_ERRORS_TOLERATED:
        _event(
            change,
            change.status,
            f"SCP did not answer {errors} polls in a row ({exc.message}); still trying.",
        )
    if change.track_deadline and now >= change.track_deadline:
        _fail(
            change, f"Gave up waiting: SCP stopped answering ({exc.message}).", error=exc.to_dict()
        )
        return None
    return _schedule_next_poll(change, now)


def _schedule_next_poll(change: ChangeRequest, now) -> float:
    # 2 s, 3 s, 4.5 s, ... up to the ceiling: quick for fast updates, gentle for slow ones.
    delay = min(
        settings.SCP_TRACK_MAX_POLL_SECONDS,
        settings.SCP_TRACK_FIRST_POLL_SECONDS * 1.5 ** (change.polls + 1),
    )
    ChangeRequest.objects.filter(pk=change.pk).update(next_poll_at=now + timedelta(seconds=delay))
    _enqueue(TRACK_TASK, change.pk, countdown=delay)
    return delay


def _finish(change: ChangeRequest, differences: list[dict[str, Any]]) -> None:
    status = Status.DIFFERENT if differences else Status.SUCCEEDED
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=status,
        differences=differences,
        finished_at=timezone.now(),
        account_password_encrypted="",
        next_poll_at=None,
    )
    if differences:
        fields = ", ".join(d["label"] for d in differences)
        _event(
            change, status, f"The service runs again, but differs from the request in: {fields}."
        )
    else:
        _event(change, status, "The service runs again with exactly the requested configuration.")


def _fail(change: ChangeRequest, message: str, *, error: dict[str, Any]) -> None:
    ChangeRequest.objects.filter(pk=change.pk).update(
        status=Status.FAILED,
        error={**error, "message": error.get("message") or message},
        finished_at=timezone.now(),
        account_password_encrypted="",
        next_poll_at=None,
    )
    _event(change, Status.FAILED, message)


# --- Recovery (Celery beat) ---------------------------------------------------------------


def changes_sweep(*, grace_seconds: float = 30.0) -> dict[str, int]:
    """Re-dispatch changes whose message was lost (dead worker, broker outage); counts by kind."""
    now = timezone.now()
    overdue = now - timedelta(seconds=grace_seconds)
    counts = {"send": 0, "track": 0, "resubmit": 0}

    queued = ChangeRequest.objects.filter(status=Status.QUEUED).filter(
        Q(next_poll_at__lte=overdue) | Q(next_poll_at__isnull=True, created_at__lte=overdue)
    )
    for change_id in queued.values_list("pk", flat=True):
        counts["send"] += _enqueue(SEND_TASK, change_id)

    # A worker that died mid-submit leaves SUBMITTING behind; after the hard time limit no
    # live worker can still hold it.
    lost_after = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + grace_seconds)
    for change in ChangeRequest.objects.filter(
        status=Status.SUBMITTING, submitted_at__lte=lost_after
    ):
        taken = ChangeRequest.objects.filter(pk=change.pk, status=Status.SUBMITTING).update(
            status=Status.QUEUED, next_poll_at=now
        )
        if taken:
            _event(
                change,
                Status.QUEUED,
                "The worker stopped while submitting; SCP's state is checked before any new PUT.",
            )
            counts["resubmit"] += _enqueue(SEND_TASK, change.pk)

    tracking = ChangeRequest.objects.filter(
        status__in=[Status.ACCEPTED, Status.UPDATING], next_poll_at__lte=overdue
    )
    for change_id in tracking.values_list("pk", flat=True):
        counts["track"] += _enqueue(TRACK_TASK, change_id)
    return counts


# --- Helpers ------------------------------------------------------------------------------


def _event(change: ChangeRequest, status: str, message: str) -> None:
    ChangeEvent.objects.create(change_id=change.pk, status=status, message=message)


def _scp_sentence(exc: ScpError, *, gave_up: bool) -> str:
    parts = [exc.message]
    if exc.global_request_id:
        parts.append(f"(global_request_id {exc.global_request_id})")
    if gave_up:
        parts.append(f"Gave up after {SEND_MAX_ATTEMPTS} attempts.")
    return " ".join(parts)
