"""The change pipeline: plan → submit → send (Celery) → track (Celery) → final status.

Each step is one function; data flows one way. Tasks call `change_send` and `change_track`
with a row id; everything they need is on the row. Secrets stay encrypted on the row and
are erased when the change is final.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import ApprovalRefused, approval_needed, approver_check
from console.dataflow.changes.configdiff import (
    config_apply,
    config_diff,
    diff_summary,
    edits_held,
    edits_overridden,
)
from console.dataflow.changes.lifecycle import change_create, change_move, change_note, change_stuck
from console.dataflow.changes.replan import (
    approval_check,
    approval_fields,
    approval_message,
    approval_read,
    approval_replan,
)
from console.dataflow.connections import crypto
from console.dataflow.connections.clients import (
    PAGE_WAIT_SECONDS,
    ConnectionUnavailable,
    scp_client_for,
)
from console.dataflow.inventory.revisions import service_apply_detail
from console.dataflow.models import (
    IN_FLIGHT,
    TRACKING,
    WITH_SCP,
    ChangeAttempt,
    ChangeRequest,
    Service,
)
from console.dataflow.words.events import Said, said, said_english, said_join, said_n, said_text
from console.dataflow.words.scp_text import (
    scp_error_said,
    scp_error_sentence,
    scp_error_sentence_said,
)
from console.dataflow.work.queueing import change_dispatch
from console.dataflow.work.workers import BEAT_DEAD_AFTER, worker_identity, workers_alive
from console.scp import (
    ResourceCheck,
    ScpAddressRefused,
    ScpError,
    ScpInvalidInput,
    ScpThrottled,
    ScpUnavailable,
    ServiceConfig,
    Workloads,
    build_update_body,
)

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status

SEND_TASK = "dataflow.change_send"
TRACK_TASK = "dataflow.change_track"
# A worker lost this many times while sending ends the change (each loss is one attempt that
# never finished); transient answers are waited out for SCP_RETRY_PATIENCE_MINUTES instead.
WORKER_LOSSES_TOLERATED = 6
POLL_ERRORS_TOLERATED = 5
# Guess: SCP refuses a PUT with 400 while a service settles after an accepted update (seen live
# on several products, SCP_API.md §8); for this long after the service's last accepted change a
# 400 on a RUNNING service is read as "busy", not as bad values.
SETTLE_SECONDS = 120.0
BUSY_STATES = ("UPDATING", "EDITING")
# A poll may run this early (clock skew between machines) and books this long a lease.
POLL_EARLY_SLACK = 1.0
POLL_LEASE_SECONDS = 60.0


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
    ok: bool  # the admin may confirm: anything but a clear "no"
    message: str
    verdict: str = "none"  # skipped, yes, no, none (no verdict), unreachable
    check: ResourceCheck | None = None
    error: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "needed": self.needed,
            "ok": self.ok,
            "verdict": self.verdict,
            "message": self.message,
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
            message=_("Workloads unchanged: no pre-check."),
        )
    workloads = ServiceConfig.from_dict(plan.desired_config).workloads
    assert isinstance(workloads, Workloads)
    try:
        check = scp_client_for(service.connection_name, wait=PAGE_WAIT_SECONDS).validate_resources(
            service.scp_id, workloads
        )
    except (ScpError, ConnectionUnavailable) as exc:
        error = _error_record(exc)
        # SCP could not be asked, or refused the question: say so, but do not block (SCP
        # validates the update itself, and its answer reaches the change page).
        return Precheck(
            True,
            True,
            _("SCP's pre-check gave no verdict: %(error)s")
            % {"error": said_text(error.get("said")) or error["message"]},
            verdict="unreachable",
            error=error,
        )
    if check.verdict == "no":
        if check.err_code:
            message = _(
                "SCP's pre-check says the cluster cannot take these workloads (%(code)s). "
                "Lower the workloads, or ask the cluster's administrator for room."
            ) % {"code": check.err_code}
        else:
            message = _(
                "SCP's pre-check says the cluster cannot take these workloads. "
                "Lower the workloads, or ask the cluster's administrator for room."
            )
        return Precheck(
            True,
            False,
            message,
            verdict="no",
            check=check,
        )
    if check.verdict == "yes":
        return Precheck(
            True,
            True,
            _("SCP's pre-check confirms the cluster can take these workloads."),
            verdict="yes",
            check=check,
        )
    return Precheck(
        True,
        True,
        _(
            "SCP's pre-check gave no verdict (its answer does not say yes or no). You may "
            "confirm: SCP validates the update itself and the change page shows its answer."
        ),
        verdict="none",
        check=check,
    )


# --- Submit -------------------------------------------------------------------------------


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
    nothing is enqueued. A member of a fleet change was approved with its fleet, as a whole.
    """
    if not plan.entries:
        raise NothingToChange(_("This change changes nothing: edit at least one field."))
    if plan.kind == ChangeRequest.Kind.HOST_ALIASES and any(
        e["section"] != "Host aliases" and e["field"] != "host_alias_enabled" for e in plan.entries
    ):
        # The support page may touch host aliases only, whatever reaches this function.
        raise ChangeRefused(_("A host alias change may change host aliases only."))
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=plan.service_id)
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
        waits = fleet is None and approval_needed(connection_name=service.connection_name)
        decided = fleet.decision_fields() if fleet is not None else {}
        author_name = author.get_username()
        if waits:
            status = Status.AWAITING_APPROVAL
            first_event = said(
                "Confirmed by %(author)s; waiting for a team lead or another admin to "
                "approve it. Nothing is sent before.",
                author=author_name,
            )
        elif fleet is not None:
            status = Status.QUEUED
            first_event = said(
                "Queued by %(author)s (fleet change #%(fleet)s).",
                author=author_name,
                fleet=fleet.pk,
            )
        else:
            status = Status.QUEUED
            first_event = said("Queued by %(author)s.", author=author_name)
        try:
            change = change_create(
                status=status,
                message=first_event,
                fleet=fleet,
                precheck=precheck,
                **decided,
                service=service,
                author=author,
                author_name=author_name,
                kind=plan.kind,
                reason=reason.strip(),
                ticket=ticket.strip(),
                base_revision=plan.base_revision,
                base_config=plan.base_config,
                desired_config=plan.desired_config,
                account_password_encrypted=crypto.encrypt(new_password or ""),
                password_changed=bool(new_password),
                diff=plan.entries,
                language=scp_language(),
            )
        except IntegrityError:
            # Another request won the race between the check above and this insert.
            raise ChangeInFlight(
                _("Another change of this service was submitted a moment ago."), change=None
            ) from None
        if waits:
            return change
        transaction.on_commit(lambda: _enqueue(SEND_TASK, change.pk))
    return change


def change_approve(
    *,
    change: ChangeRequest,
    by,
    comment: str = "",
    override: bool = False,
    seen_revision: int | None = None,
) -> bool:
    """An approver (never the author) lets a waiting change go: queued, and sent after commit.

    It is re-planned on what SCP holds now (read first): fields SCP changed meanwhile that the
    change does not set are kept. Raises ApprovalConflict when SCP now holds another value for
    a field the change sets, unless the approver chose to replace it (`override`) on the
    configuration they saw (`seen_revision`; ApprovalStale otherwise), and ApprovalUnchecked
    when SCP cannot be read. False when the change no longer waits (withdrawn, or decided by
    someone else first).
    """
    approver_check(user=by, author_id=change.author_id)
    if not ChangeRequest.objects.filter(pk=change.pk, status=Status.AWAITING_APPROVAL).exists():
        return False
    approval_read(service=change.service)
    name = by.get_username()
    comment = comment.strip()
    now = timezone.now()
    with transaction.atomic():
        service = Service.objects.select_for_update().get(pk=change.service_id)
        replan = approval_replan(change=change, service=service)
        approval_check(replan=replan, override=override, seen_revision=seen_revision)
        moved = change_move(
            change.pk,
            frm=Status.AWAITING_APPROVAL,
            to=Status.QUEUED,
            message=approval_message(name=name, comment=comment, replan=replan, override=override),
            decision="approved",
            decided_by=by,
            decided_by_name=name,
            decided_at=now,
            decision_comment=comment,
            # The queue's clock starts now, not when the author confirmed.
            next_poll_at=now,
            **approval_fields(change=change, replan=replan),
        )
        if moved:
            transaction.on_commit(lambda: _enqueue(SEND_TASK, change.pk))
    return moved


def change_reject(*, change: ChangeRequest, by, comment: str) -> bool:
    """An approver (never the author) refuses a waiting change, saying why; it is never sent."""
    approver_check(user=by, author_id=change.author_id)
    comment = comment.strip()
    if not comment:
        raise ApprovalRefused(_("Say why the change is rejected: the author reads it."))
    name = by.get_username()
    return change_move(
        change.pk,
        frm=Status.AWAITING_APPROVAL,
        to=Status.REJECTED,
        message=said("Rejected by %(name)s: %(comment)s", name=name, comment=comment),
        decision="rejected",
        decided_by=by,
        decided_by_name=name,
        decided_at=timezone.now(),
        decision_comment=comment,
    )


def change_withdraw(*, change: ChangeRequest, by) -> bool:
    """The author takes back a change that still waits for approval; nothing was sent."""
    if change.author_id != by.pk:
        raise ApprovalRefused(_("Only the author may withdraw a change awaiting approval."))
    return change_move(
        change.pk,
        frm=Status.AWAITING_APPROVAL,
        to=Status.CANCELLED,
        message=said("Withdrawn by its author, %(name)s, before approval.", name=by.get_username()),
    )


def scp_language() -> str:
    """Accept-Language for SCP: the language of the person confirming the change."""
    return "ko-KR" if (translation.get_language() or "").startswith("ko") else "en-US"


def change_language(language: str | None) -> str:
    """The console's language code (`en`, `ko`) for a change's SCP language (`en-US`, `ko-KR`)."""
    return "ko" if (language or "").lower().startswith("ko") else "en"


def change_speaking(change_id: int) -> translation.override:
    """Translation for the work on one change: the language its author worked in.

    Timeline events and errors are stored as facts (console.dataflow.words.events) and said to each
    reader; what is still worded when it happens (an attempt's detail line) is in this one.
    """
    language = ChangeRequest.objects.filter(pk=change_id).values_list("language", flat=True)
    return translation.override(change_language(language.first()))


def change_cancel(*, change: ChangeRequest, by) -> bool:
    """Withdraw a change that no worker has taken yet; False when it is already on its way."""
    message = said("Cancelled by %(name)s.", name=by.get_username())
    return change_move(change.pk, frm=Status.QUEUED, to=Status.CANCELLED, message=message)


def _enqueue(task_name: str, change_id: int, countdown: float | None = None) -> bool:
    """Hand a change's step to a worker: now when it is due now; a later step (`countdown`)
    is sent by the workers' dispatcher when its time, booked in `next_poll_at`, comes.

    A broker outage leaves the change waiting, with a line on its timeline.
    """
    if countdown:
        return True
    sent = change_dispatch(change_id)
    if sent is False:
        with change_speaking(change_id):
            change_note(
                change_id,
                message=said(
                    "The task queue is unreachable right now; the change is kept and will be "
                    "handed to a worker as soon as the queue answers again."
                ),
            )
    return sent is not False


# --- Send (Celery) ------------------------------------------------------------------------


class _Unsendable(Exception):
    """A fault that repeating cannot cure (unreadable secret, unusable connection)."""

    def __init__(self, sentence: Said) -> None:
        super().__init__(said_english(sentence))
        self.said = sentence


def change_send(*, change_id: int) -> None:
    """Claim a queued change and send it to SCP at most once per accepted update.

    Before any PUT the worker reads the service: an earlier attempt found under way or
    applied is followed, never sent again. Transient faults put the change back in the
    queue with a delay (or as long as SCP asks) for up to SCP_RETRY_PATIENCE_MINUTES; anything
    else ends in Failed.
    """
    row = ChangeRequest.objects.filter(pk=change_id).values("attempts", "status").first()
    if row is None or row["status"] != Status.QUEUED:
        return  # cancelled, or another worker has it: claims make a second delivery harmless
    number = row["attempts"] + 1
    claimed = change_move(
        change_id,
        frm=Status.QUEUED,
        to=Status.SUBMITTING,
        message=said("Attempt %(number)s: reading SCP, then sending.", number=number),
        attempts=F("attempts") + 1,
        submitted_at=timezone.now(),
        claimed_by=worker_identity(),
    )
    if not claimed:
        return
    change = ChangeRequest.objects.select_related("service").get(pk=change_id)
    attempt = ChangeAttempt.objects.create(change=change, number=change.attempts)
    try:
        _send_attempt(change, attempt)
    except _ClaimLost:
        logger.warning("change %s: another worker holds it now; nothing sent", change.pk)
        _attempt_end(attempt, ChangeAttempt.Outcome.NOT_SENT)
    except _Unsendable as exc:
        _attempt_end(attempt, ChangeAttempt.Outcome.NOT_SENT, detail=str(exc))
        _fail(change, exc.said, error={"said": exc.said, "kind": "Unsendable"})
    except ScpError as exc:
        _with_database(partial(_send_fault, change, attempt, exc))
    except Exception as exc:  # a bug, a time limit, a dropped database: never stuck
        logger.exception(
            "change %s: unexpected error while sending", change.pk, extra={"change_id": change.pk}
        )
        if isinstance(exc, (OperationalError, InterfaceError)):
            message = said(
                "The database did not answer during this attempt; the change goes on as soon "
                "as it answers again."
            )
        else:
            message = said(
                "An unexpected error stopped this attempt (%(kind)s); the technical detail is "
                "in the worker's log.",
                kind=type(exc).__name__,
            )
        fault = _console_fault(message, code=type(exc).__name__)
        _with_database(partial(_send_fault, change, attempt, fault))


def _send_attempt(change: ChangeRequest, attempt: ChangeAttempt) -> None:
    """Read SCP, decide whether a PUT is needed, and send it; raises on faults."""
    client = _client(change)
    current = client.get_service(change.service.scp_id)
    held = edits_held(current.config.to_dict(), change.base_config, change.desired_config)
    password = _password(change)

    if change.put_unconfirmed or change.attempts > 1:
        # An earlier attempt may have reached SCP: look before sending again.
        if current.is_state(*BUSY_STATES) and change.put_unconfirmed:
            _attempt_end(attempt, ChangeAttempt.Outcome.FOUND_UPDATING)
            _accepted(
                change,
                current,
                said(
                    "SCP is updating the service (state %(state)s): the earlier attempt "
                    "reached it although its answer was lost. Following it; nothing sent again.",
                    state=current.state,
                ),
                update_seen=True,
            )
            return
        if held and change.put_unconfirmed:
            _attempt_end(attempt, ChangeAttempt.Outcome.FOUND_APPLIED)
            _accepted(
                change,
                current,
                said(
                    "SCP already holds every reviewed value: the earlier attempt was applied "
                    "although its answer was lost. Following it to the end; nothing sent again."
                ),
                update_seen=True,
            )
            return
    if current.is_state(*BUSY_STATES):
        raise _console_fault(
            said(
                "SCP reports the service as %(state)s: another update is in progress and SCP "
                "refuses a second one meanwhile.",
                state=current.state,
            ),
            code="ServiceBusy",
        )
    if held and password is None:
        _attempt_end(attempt, ChangeAttempt.Outcome.ALREADY_HELD)
        change_move(
            change.pk,
            frm=Status.SUBMITTING,
            to=Status.SUCCEEDED,
            message=said("SCP already holds every reviewed value: nothing needed sending."),
            claimed_by="",
        )
        return

    overridden = edits_overridden(
        current.config.to_dict(), change.base_config, change.desired_config
    )
    if overridden:
        raise _Unsendable(
            said(
                "SCP now holds another value for %(fields)s than when this change was reviewed "
                "(changed outside the console meanwhile). Nothing was sent, so that value is "
                "not replaced unseen: review the change again on the newer configuration.",
                fields=said_join(*(said(label) for label in overridden), sep=", "),
            )
        )
    merged = config_apply(current.config.to_dict(), change.base_config, change.desired_config)
    body = build_update_body(ServiceConfig.from_dict(merged), account_password=password)
    # Marked before the PUT leaves, with the claim checked under a lock in the same
    # transaction: a worker killed mid-call leaves the truth behind, and a worker whose claim
    # was taken back (believed dead) never sends.
    with transaction.atomic():
        held = ChangeRequest.objects.select_for_update().filter(
            pk=change.pk, status=Status.SUBMITTING, claimed_by=change.claimed_by
        )
        if not held.exists():
            raise _ClaimLost
        held.update(
            desired_config=merged,
            put_unconfirmed=True,
            scp_modified_before=change.scp_modified_before or current.modified_dt,
        )
        ChangeAttempt.objects.filter(pk=attempt.pk).update(put_sent=True)
    change.desired_config = merged
    change.put_unconfirmed = True
    attempt.put_sent = True
    accepted = client.update_service(change.service.scp_id, body)
    message = said(
        "SCP accepted the update (202); it reports the service as %(state)s.",
        state=accepted.state or "?",
    )

    def record() -> None:
        _attempt_end(attempt, ChangeAttempt.Outcome.ACCEPTED)
        # A 202 that says UPDATING is SCP showing this update under way; an empty 202 (seen
        # live on data-flow 1.1) or the old state says nothing, and tracking finds out.
        _accepted(change, accepted, message, update_seen=accepted.is_state(*BUSY_STATES))

    _with_database(record)


class _ClaimLost(Exception):
    """Another process holds the change now: this attempt ends without sending anything."""


# How long a worker that sent (or was about to send) waits for a database that stopped
# answering, so that what SCP answered is recorded as it happened.
DATABASE_PATIENCE_SECONDS = 60.0


def _with_database(write: Callable[[], None]) -> None:
    """Run `write`, waiting out a database that does not answer (up to the patience)."""
    deadline = time.monotonic() + DATABASE_PATIENCE_SECONDS
    while True:
        try:
            write()
            return
        except (OperationalError, InterfaceError):
            if time.monotonic() > deadline:
                raise
            logger.warning("the database does not answer; recording again in a second")
            db_connection.close()
            time.sleep(1)


def _client(change: ChangeRequest):
    """The SCP client of the change's connection, speaking its author's language."""
    try:
        return scp_client_for(change.service.connection_name, language=change.language)
    except (ConnectionUnavailable, ValueError) as exc:
        raise _Unsendable(
            said("The SCP connection cannot be used: %(reason)s Nothing was sent.", reason=str(exc))
        ) from None


def _password(change: ChangeRequest) -> str | None:
    """The new NiFi password of the change, or None to keep SCP's."""
    try:
        return crypto.decrypt(change.account_password_encrypted) or None
    except crypto.SecretUnreadable:
        raise _Unsendable(
            said(
                "The console cannot read the new NiFi password stored with this change (the "
                "encryption keys changed since it was confirmed). Nothing was sent: make the "
                "change again and type the password anew."
            )
        ) from None


def _send_fault(change: ChangeRequest, attempt: ChangeAttempt, exc: ScpError) -> None:
    """End an attempt that met an SCP error: follow, retry later, or fail."""
    if isinstance(exc, ScpThrottled) and exc.local and attempt.put_sent:
        # The request budget held the PUT back before it left: nothing was sent.
        ChangeAttempt.objects.filter(pk=attempt.pk).update(put_sent=False)
        attempt.put_sent = False
        ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=False)
    unconfirmed = attempt.put_sent and not _definitive(exc)
    if attempt.put_sent and not unconfirmed:
        ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=False)
    if attempt.put_sent and _settling(change, exc):
        exc = _busy(exc)
    outcome = (
        ChangeAttempt.Outcome.ANSWER_LOST
        if unconfirmed
        else ChangeAttempt.Outcome.THROTTLED
        if isinstance(exc, ScpThrottled)
        else ChangeAttempt.Outcome.REFUSED
        if exc.permanent
        else ChangeAttempt.Outcome.TRANSIENT
    )
    _attempt_end(attempt, outcome, error=exc)
    if unconfirmed:
        # SCP may have the update: follow the service instead of sending it again.
        now = timezone.now()
        change_move(
            change.pk,
            frm=Status.SUBMITTING,
            to=Status.ACCEPTED,
            message=said(
                "%(error)s SCP may have received the update: following the service to learn "
                "whether it did, before any new attempt.",
                error=scp_error_said(exc),
            ),
            accepted_at=now,
            claimed_by="",
            **_tracking_start(now),
        )
        _enqueue(TRACK_TASK, change.pk, countdown=settings.SCP_TRACK_FIRST_POLL_SECONDS)
        return
    if exc.permanent:
        _fail(change, scp_error_said(exc), error=_error_record(exc))
        return
    retry_until = _retry_until(change)
    if timezone.now() >= retry_until:
        sentence = said(
            "%(error)s SCP kept answering so for %(minutes)s minutes (%(count)s attempts): "
            "the change gives up; nothing was applied.",
            error=scp_error_said(exc),
            minutes=f"{settings.SCP_RETRY_PATIENCE_MINUTES:g}",
            count=change.attempts,
        )
        _fail(change, sentence, error=_error_record(exc))
        return
    _requeue(change, frm=Status.SUBMITTING, reason=scp_error_said(exc), wait=exc.retry_after)


def _retry_until(change: ChangeRequest):
    """When the change stops waiting out transient answers: set at the first one."""
    if change.retry_until is None:
        change.retry_until = timezone.now() + timedelta(minutes=settings.SCP_RETRY_PATIENCE_MINUTES)
        ChangeRequest.objects.filter(pk=change.pk, retry_until__isnull=True).update(
            retry_until=change.retry_until
        )
    return change.retry_until


def _settling(change: ChangeRequest, exc: ScpError) -> bool:
    """Whether SCP's 400 to this PUT means "busy settling" rather than "bad values".

    Guess (SCP_API.md §8): SCP refuses a PUT with 400 while a service settles after an accepted
    update. The service is read again: not RUNNING, or RUNNING within SETTLE_SECONDS of its
    last accepted change, is settling.
    """
    if not isinstance(exc, ScpInvalidInput) or exc.status != 400:
        return False
    try:
        detail = _client(change).get_service(change.service.scp_id)
    except (ScpError, _Unsendable):
        return False
    if not detail.is_state("RUNNING"):
        return True
    recent = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    return (
        ChangeRequest.objects.filter(service_id=change.service_id, accepted_at__gte=recent)
        .exclude(pk=change.pk)
        .exists()
    )


def _busy(exc: ScpError) -> ScpUnavailable:
    """SCP's 400 read as "the service is settling": transient, SCP's own words kept."""
    sentence = said(
        "SCP refused the update while the service is still settling after an earlier "
        "update (HTTP 400): waiting, then reading SCP again."
    )
    fault = ScpUnavailable(
        said_english(sentence),
        status=None,
        code=exc.code or "ServiceSettling",
        details=exc.details,
        global_request_id=exc.global_request_id,
        raw_text=exc.raw_text,
    )
    fault.said = sentence
    return fault


def _console_fault(sentence: Said, *, code: str) -> ScpUnavailable:
    """A transient fault worded by the console: English in its message (logs), the sentence
    kept for people (`scp_text` says it in the reader's language)."""
    fault = ScpUnavailable(said_english(sentence), code=code)
    fault.said = sentence
    return fault


def _requeue(
    change: ChangeRequest, *, frm: str, reason: Said | str, wait: float | None = None
) -> None:
    """Put a change back in the queue for another attempt after a growing delay.

    A wait SCP asked for (Retry-After, or the request budget's) is obeyed when it is longer.
    """
    countdown = max(min(60.0, 2.0 * 2 ** max(0, change.attempts - 1)), wait or 0.0)
    countdown = round(countdown, 1)
    moved = change_move(
        change.pk,
        frm=frm,
        to=Status.QUEUED,
        message=said(
            "%(reason)s Trying again in %(seconds)s s (attempt %(number)s; the change waits "
            "up to %(minutes)s minutes for SCP).",
            reason=reason,
            seconds=f"{countdown:g}",
            number=change.attempts + 1,
            minutes=f"{settings.SCP_RETRY_PATIENCE_MINUTES:g}",
        ),
        next_poll_at=timezone.now() + timedelta(seconds=countdown),
        claimed_by="",
    )
    if moved:
        _enqueue(SEND_TASK, change.pk, countdown=countdown)


def _attempt_end(
    attempt: ChangeAttempt, outcome: str, *, error: ScpError | None = None, **fields: Any
) -> None:
    if error is not None:
        fields.update(
            http_status=error.status,
            global_request_id=error.global_request_id,
            detail=said_text(scp_error_said(error))[:2000],
        )
    ChangeAttempt.objects.filter(pk=attempt.pk).update(
        outcome=outcome, finished_at=timezone.now(), **fields
    )


def _definitive(exc: ScpError) -> bool:
    """SCP refused the PUT, so it was not applied: not a timeout, a 502/504 or an unreadable 2xx.

    A throttled PUT never reached SCP: its edge (or the console's own budget) refused it; nor
    did one the console's address check refused before sending.
    """
    if isinstance(exc, ScpThrottled | ScpAddressRefused):
        return True
    return exc.status is not None and exc.status >= 300 and exc.status not in (502, 504)


def _tracking_start(now) -> dict[str, Any]:
    return {
        "track_deadline": now + timedelta(minutes=settings.SCP_TRACK_DEADLINE_MINUTES),
        "next_poll_at": now + timedelta(seconds=settings.SCP_TRACK_FIRST_POLL_SECONDS),
        "polls": 0,
        "poll_errors_in_a_row": 0,
    }


def _accepted(change: ChangeRequest, detail, message: Said, *, update_seen: bool) -> None:
    now = timezone.now()
    moved = change_move(
        change.pk,
        frm=Status.SUBMITTING,
        to=Status.ACCEPTED,
        message=message,
        accepted_at=now,
        put_unconfirmed=False,
        update_seen=update_seen,
        claimed_by="",
        scp_answer=detail.raw,
        web_url_nifi=detail.web_url_nifi or change.web_url_nifi,
        web_url_registry=detail.web_url_registry or change.web_url_registry,
        **_tracking_start(now),
    )
    if not moved:
        # Abandoned by a person while this worker was sending: the truth goes on record.
        change_note(
            change.pk,
            message=said("After the change was given up: %(message)s", message=message),
        )
        return
    _enqueue(TRACK_TASK, change.pk, countdown=settings.SCP_TRACK_FIRST_POLL_SECONDS)


# --- Track (Celery) -----------------------------------------------------------------------


def change_track(*, change_id: int) -> float | None:
    """Poll SCP once for an accepted change and schedule the next poll until it is final.

    The outcome is judged by what SCP shows after this change's PUT: until SCP has shown the
    update under way (or the reviewed values read back), RUNNING or ERROR is the old state
    and is followed for SCP_TRACK_START_GRACE_SECONDS. Returns the seconds until the next
    poll, None when this call scheduled nothing.
    """
    now = timezone.now()
    # Claim this poll: a duplicate chain (a message restored after a worker died) finds the
    # next poll already booked and stops.
    lease = now + timedelta(seconds=POLL_LEASE_SECONDS)
    claimed = ChangeRequest.objects.filter(
        pk=change_id,
        status__in=TRACKING,
        next_poll_at__lte=now + timedelta(seconds=POLL_EARLY_SLACK),
    ).update(next_poll_at=lease, claimed_by=worker_identity())
    if not claimed:
        return None
    change = ChangeRequest.objects.select_related("service").get(pk=change_id)
    change.next_poll_at = lease  # only the holder of this lease books the next poll
    try:
        return _track_once(change, now)
    except Exception:  # a bug or a dropped database must not end the chain silently
        logger.exception(
            "change %s: unexpected error while tracking", change.pk, extra={"change_id": change.pk}
        )
        return _schedule_next_poll(change, now)


def _track_once(change: ChangeRequest, now) -> float | None:
    service = change.service
    try:
        detail = scp_client_for(service.connection_name, language=change.language).get_service(
            service.scp_id
        )
    except (ScpError, ConnectionUnavailable, ValueError) as exc:
        # SCP accepted the update: only SCP's own view of the service may end the change.
        # Throttling, a 401 after a clock jump, a 5xx: keep reading until the deadline.
        return _poll_failed(change, exc, now)

    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        service_apply_detail(service=locked, detail=detail)
    ChangeRequest.objects.filter(pk=change.pk).update(
        polls=F("polls") + 1,
        poll_errors_in_a_row=0,
        web_url_nifi=detail.web_url_nifi or change.web_url_nifi,
        web_url_registry=detail.web_url_registry or change.web_url_registry,
    )
    change.polls += 1

    seen = change.update_seen or _update_evidence(change, detail)
    if seen and not change.update_seen:
        # SCP shows the update: whatever answer was lost, the PUT arrived.
        ChangeRequest.objects.filter(pk=change.pk).update(update_seen=True, put_unconfirmed=False)
        change.update_seen = True
        change.put_unconfirmed = False

    if seen and detail.is_state("ERROR"):
        _fail(
            change,
            said_join(
                said(
                    "SCP reports the service in ERROR after this update started: the update failed."
                ),
                _flag_note(detail),
            ),
            error={"said": said("SCP reports state ERROR."), "state": detail.state},
        )
        return None
    if seen and detail.is_state("RUNNING"):
        _finish(change, config_diff(change.desired_config, detail.config.to_dict()), detail)
        return None
    if seen and change.status == Status.ACCEPTED:
        change_move(
            change.pk,
            frm=Status.ACCEPTED,
            to=Status.UPDATING,
            message=said(
                "SCP reports the service as %(state)s.", state=detail.state or said("unknown")
            ),
        )
    if not seen:
        grace = timedelta(seconds=settings.SCP_TRACK_START_GRACE_SECONDS)
        if change.accepted_at and now - change.accepted_at >= grace:
            return _never_started(change, detail)
        if change.polls == 1:
            change_note(
                change.pk,
                message=said(
                    "SCP still shows the previous state (%(state)s); waiting for the update "
                    "to start.",
                    state=detail.state or said("unknown"),
                ),
            )
    if change.track_deadline and now >= change.track_deadline:
        gave_up = said(
            "Gave up waiting after %(minutes)s minutes: SCP still reports %(state)s. Check the "
            "service in SCP before changing it again.",
            minutes=f"{settings.SCP_TRACK_DEADLINE_MINUTES:g}",
            state=detail.state,
        )
        _fail(change, gave_up, error={"said": gave_up, "state": detail.state})
        return None
    return _schedule_next_poll(change, now)


def _update_evidence(change: ChangeRequest, detail) -> bool:
    """Whether SCP shows this change's update: busy, or the reviewed values read back."""
    if detail.is_state(*BUSY_STATES):
        return True
    held = edits_held(detail.config.to_dict(), change.base_config, change.desired_config)
    if held is None:
        # Guess: a password-only change cannot be read back; SCP's modified_dt moving past
        # the value read before the PUT is the only sign that it arrived.
        return bool(
            change.scp_modified_before
            and detail.modified_dt
            and detail.modified_dt > change.scp_modified_before
        )
    return held


def _never_started(change: ChangeRequest, detail) -> float | None:
    """The grace period passed without any sign of the update in SCP."""
    minutes = settings.SCP_TRACK_START_GRACE_SECONDS / 60
    if change.put_unconfirmed and timezone.now() < _retry_until(change):
        _requeue(
            change,
            frm=Status.ACCEPTED,
            reason=said(
                "In %(minutes)s minutes SCP never showed the update whose answer was lost "
                "(state %(state)s, the previous configuration): it did not arrive.",
                minutes=f"{minutes:g}",
                state=detail.state or said("unknown"),
            ),
        )
        return None
    if change.put_unconfirmed:
        sentence = said(
            "SCP's answers were lost and in %(minutes)s minutes the service never showed the "
            "update (state %(state)s): it was not applied.",
            minutes=f"{minutes:g}",
            state=detail.state or said("unknown"),
        )
    else:
        sentence = said(
            "SCP accepted the update (202) but in %(minutes)s minutes never showed it "
            "starting: the service is in state %(state)s with the previous configuration. "
            "Check the service in SCP before trying again.",
            minutes=f"{minutes:g}",
            state=detail.state or said("unknown"),
        )
    _fail(change, sentence, error={"said": sentence, "state": detail.state})
    return None


def _flag_note(detail) -> Said | str:
    if not detail.cluster_request_failed:
        return ""
    return said("SCP also flags cluster_request_failed.")


def _poll_failed(change: ChangeRequest, exc: Exception, now) -> float | None:
    """A poll that did not read the service: note it, and read again until the deadline."""
    errors = change.poll_errors_in_a_row + 1
    ChangeRequest.objects.filter(pk=change.pk).update(poll_errors_in_a_row=errors)
    reason = scp_error_said(exc) if isinstance(exc, ScpError) else str(exc)
    if change.track_deadline and now >= change.track_deadline:
        _fail(
            change,
            said("Gave up waiting: SCP stopped answering (%(error)s).", error=reason),
            error=_error_record(exc),
        )
        return None
    wait = exc.retry_after if isinstance(exc, ScpError) else None
    if errors == 1 or errors == POLL_ERRORS_TOLERATED:
        change_note(
            change.pk,
            message=said_n(
                "The service could not be read (%(error)s). SCP accepted the update; the "
                "console keeps reading it until the tracking deadline.",
                "The service could not be read %(count)d times in a row (%(error)s). SCP "
                "accepted the update; the console keeps reading it until the tracking deadline.",
                "count",
                count=errors,
                error=reason,
            ),
        )
    return _schedule_next_poll(change, now, at_least=wait)


def _schedule_next_poll(change: ChangeRequest, now, *, at_least: float | None = None) -> float:
    # 2 s, 3 s, 4.5 s, ... up to the ceiling: quick for fast updates, gentle for slow ones; a
    # wait SCP asked for (Retry-After, the request budget's) is obeyed.
    delay = min(
        settings.SCP_TRACK_MAX_POLL_SECONDS,
        settings.SCP_TRACK_FIRST_POLL_SECONDS * 1.5 ** (change.polls + 1),
    )
    delay = max(delay, at_least or 0.0)
    booked = ChangeRequest.objects.filter(
        pk=change.pk, status__in=TRACKING, next_poll_at=change.next_poll_at
    ).update(next_poll_at=now + timedelta(seconds=delay), claimed_by="")
    if booked:
        _enqueue(TRACK_TASK, change.pk, countdown=delay)
    return delay


def _finish(change: ChangeRequest, differences: list[dict[str, Any]], detail) -> None:
    status = Status.DIFFERENT if differences else Status.SUCCEEDED
    if differences:
        fields = said_join(*(said(d["label"]) for d in differences), sep=", ")
        message = said(
            "The service runs again, but differs from the request in: %(fields)s.", fields=fields
        )
    else:
        message = said("The service runs again with exactly the requested configuration.")
    change_move(
        change.pk,
        frm=TRACKING,
        to=status,
        message=said_join(message, _flag_note(detail)),
        differences=differences,
    )


def _fail(change: ChangeRequest, message: Said | str, *, error: dict[str, Any]) -> None:
    logger.warning(
        "change %s failed: %s",
        change.pk,
        said_english(message),
        extra={"change_id": change.pk, "global_request_id": error.get("global_request_id", "")},
    )
    change_move(
        change.pk,
        # A change awaiting approval was never handed to the pipeline: it cannot fail there.
        frm=[s for s in IN_FLIGHT if s != Status.AWAITING_APPROVAL],
        to=Status.FAILED,
        message=message,
        # The error box says the error's own sentence, else the timeline's.
        error=error if error.get("said") or error.get("message") else {**error, "said": message},
        claimed_by="",
    )


# --- Abandon (a person) -------------------------------------------------------------------


@dataclass(frozen=True)
class ScpLook:
    """What SCP holds of a change's service right now, read before a person gives it up."""

    ok: bool
    state: str = ""
    holds_edits: bool | None = None
    differences: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""


def change_look(*, change: ChangeRequest) -> ScpLook:
    """Read the service from SCP and compare it with what the change asked for."""
    try:
        detail = scp_client_for(change.service.connection_name, wait=PAGE_WAIT_SECONDS).get_service(
            change.service.scp_id
        )
    except (ScpError, ConnectionUnavailable, ValueError) as exc:
        return ScpLook(
            ok=False, error=scp_error_sentence(exc) if isinstance(exc, ScpError) else str(exc)
        )
    current = detail.config.to_dict()
    return ScpLook(
        ok=True,
        state=detail.state,
        holds_edits=edits_held(current, change.base_config, change.desired_config),
        differences=config_diff(change.desired_config, current),
    )


def change_abandon(*, change: ChangeRequest, by, look: ScpLook) -> bool:
    """Give up a stuck change after SCP was read: it becomes Failed, freeing the service."""
    if not look.ok or change_stuck(change) is None:
        return False
    params = {"name": by.get_username(), "state": look.state or said("unknown")}
    if look.holds_edits is True:
        message = said(
            "Abandoned by %(name)s after checking SCP: the service is in state %(state)s and "
            "SCP holds the reviewed values."
        )
    elif look.holds_edits is False:
        message = said(
            "Abandoned by %(name)s after checking SCP: the service is in state %(state)s and "
            "SCP does not hold the reviewed values."
        )
    else:
        message = said(
            "Abandoned by %(name)s after checking SCP: the service is in state %(state)s and "
            "SCP cannot show whether it holds the reviewed values."
        )
    message["p"] = params
    return change_move(
        change.pk,
        frm=WITH_SCP,
        to=Status.FAILED,
        message=message,
        error={"said": message, "kind": "Abandoned", "state": look.state},
        claimed_by="",
    )


# --- Recovery: claims no live process holds (every worker's dispatcher, Celery beat) ---------

# A worker's own claim is taken back only this long after it was made: a task that has just
# claimed may not be on the worker's list of active tasks yet.
OWN_CLAIM_GRACE = timedelta(seconds=10)


def changes_recover_dead(*, identity: str | None, busy: set[int], now=None) -> int:
    """Take back the claims no live process holds; how many changes were taken back.

    A claim is dead when its process stopped beating, or, for this worker's own claims
    (`identity`), when none of its tasks works on that change (`busy`): the attempt ended
    without recording its end (the database did not answer, or an unexpected error). A claim
    of a live process is never taken.
    """
    now = now or timezone.now()
    alive = workers_alive(now=now)
    taken = 0
    held = ChangeRequest.objects.filter(status=Status.SUBMITTING)
    for change in held.select_related("service"):
        claimed_at = change.submitted_at or now
        if change.claimed_by == identity:
            if change.pk not in busy and claimed_at < now - OWN_CLAIM_GRACE:
                taken += _recover_submitting(change, stopped=False)
        elif change.claimed_by not in alive and claimed_at < now - BEAT_DEAD_AFTER:
            taken += _recover_submitting(change, stopped=True)
    # A poll leased by a process that is gone (or that no longer works on it) is due again.
    leased = ChangeRequest.objects.filter(status__in=TRACKING, next_poll_at__gt=now).exclude(
        claimed_by=""
    )
    for pk, owner, next_poll_at in leased.values_list("pk", "claimed_by", "next_poll_at"):
        claimed_at = next_poll_at - timedelta(seconds=POLL_LEASE_SECONDS)
        mine_and_idle = owner == identity and pk not in busy and claimed_at < now - OWN_CLAIM_GRACE
        if mine_and_idle or (owner != identity and owner not in alive):
            taken += ChangeRequest.objects.filter(
                pk=pk, claimed_by=owner, next_poll_at=next_poll_at
            ).update(next_poll_at=now, claimed_by="")
    return taken


def _recover_submitting(change: ChangeRequest, *, stopped: bool) -> int:
    """A change whose attempt ended unrecorded: follow an unconfirmed PUT, else queue it.

    `stopped`: its worker stopped (no beat); otherwise the worker lives and the attempt ended
    without recording its end.
    """
    with translation.override(change_language(change.language)):
        return _recover_submitting_speaking(change, stopped=stopped)


def _recover_submitting_speaking(change: ChangeRequest, *, stopped: bool) -> int:
    """`_recover_submitting` in the change's language."""
    now = timezone.now()
    # The attempt left open ends here, so no row says "sending" for ever.
    open_attempts = change.tries.filter(finished_at__isnull=True)
    if stopped:
        open_attempts.update(outcome=ChangeAttempt.Outcome.WORKER_LOST, finished_at=now)
    else:
        open_attempts.filter(put_sent=True).update(
            outcome=ChangeAttempt.Outcome.ANSWER_LOST, finished_at=now
        )
        open_attempts.update(outcome=ChangeAttempt.Outcome.NOT_SENT, finished_at=now)
    if change.put_unconfirmed:
        if stopped:
            message = said(
                "The worker stopped while sending; SCP may have received the update: "
                "following the service before any new attempt."
            )
        else:
            message = said(
                "The attempt's end was not recorded (the database did not answer, or an "
                "unexpected error); SCP may have received the update: following the service "
                "before any new attempt."
            )
        return int(
            change_move(
                change.pk,
                frm=Status.SUBMITTING,
                to=Status.ACCEPTED,
                message=message,
                accepted_at=now,
                claimed_by="",
                **{**_tracking_start(now), "next_poll_at": now},
            )
        )
    losses = change.tries.filter(outcome=ChangeAttempt.Outcome.WORKER_LOST).count()
    if stopped and losses >= WORKER_LOSSES_TOLERATED:
        _fail(
            change,
            said_n(
                "The worker stopped while sending, %(count)d time; nothing was sent.",
                "The worker stopped while sending, %(count)d times; nothing was sent.",
                "count",
                count=losses,
            ),
            error={"message": "worker lost", "kind": "WorkerLost"},
        )
        return 0
    if stopped:
        message = said("The worker stopped before sending; SCP's state is read before any PUT.")
    else:
        message = said(
            "The attempt stopped before sending (the database did not answer, or an unexpected "
            "error); SCP's state is read before any PUT."
        )
    return int(
        change_move(
            change.pk,
            frm=Status.SUBMITTING,
            to=Status.QUEUED,
            message=message,
            next_poll_at=now,
            claimed_by="",
        )
    )


# --- Helpers ------------------------------------------------------------------------------


def _error_record(exc: Exception) -> dict[str, Any]:
    """An error as stored with a change: SCP's fields verbatim, the message in words for people."""
    if isinstance(exc, ScpError):
        sentence = scp_error_sentence_said(exc)
        return {**exc.to_dict(), "said": sentence, "message": said_english(sentence)}
    return {"message": str(exc)}
