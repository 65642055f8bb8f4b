"""Sending a change (Celery): claim it, read SCP, send the PUT at most once per accepted
update, and end the attempt on every fault."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db import connection as db_connection
from django.db.models import F
from django.utils import timezone

from console.dataflow.changes.configdiff import config_apply, edits_held, edits_overridden
from console.dataflow.changes.lifecycle import change_move, change_note
from console.dataflow.changes.steps import (
    BUSY_STATES,
    TRACK_TASK,
    change_enqueue,
    change_fail,
    change_requeue,
    error_record,
    retry_deadline,
    tracking_start,
)
from console.dataflow.connections import crypto
from console.dataflow.connections.clients import ConnectionUnavailable, scp_client_for
from console.dataflow.models import ChangeAttempt, ChangeRequest
from console.dataflow.words.events import Said, said, said_english, said_join
from console.dataflow.words.scp_text import scp_error_said
from console.dataflow.work.workers import worker_identity
from console.scp import (
    ScpAddressRefused,
    ScpError,
    ScpInvalidInput,
    ScpThrottled,
    ScpUnavailable,
    ServiceConfig,
    build_update_body,
)

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status


# Guess: SCP refuses a PUT with 400 while a service settles after an accepted update (seen live
# on several products, SCP_API.md §8); for this long after the service's last accepted change a
# 400 on a RUNNING service is read as "busy", not as bad values.
SETTLE_SECONDS = 120.0


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
        _attempt_end(
            attempt,
            ChangeAttempt.Outcome.NOT_SENT,
            detail=said_english(exc.said)[:2000],
            detail_said=exc.said,
        )
        change_fail(change, exc.said, error={"said": exc.said, "kind": "Unsendable"})
    except ScpError as exc:
        _with_database(partial(_send_fault, change, attempt, exc))
    except Exception as exc:  # a bug, a time limit, a dropped database: never stuck
        logger.exception(
            "change %s: unexpected error while sending", change.pk, extra={"change_id": change.pk}
        )
        _with_database(partial(_send_fault, change, attempt, _unexpected_fault(exc)))


def _unexpected_fault(exc: Exception) -> ScpUnavailable:
    """An error no step expected, as a transient fault: the database, or a bug (logged)."""
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
    return _console_fault(message, code=type(exc).__name__)


def _send_attempt(change: ChangeRequest, attempt: ChangeAttempt) -> None:
    """Read SCP, decide whether a PUT is needed, and send it; raises on faults."""
    client = _client(change)
    current = client.get_service(change.service.scp_id)
    held = edits_held(current.config.to_dict(), change.base_config, change.desired_config)
    password = _password(change)
    # An earlier attempt may have reached SCP: look before sending again.
    if change.put_unconfirmed and _earlier_put_found(change, attempt, current, held=held):
        return
    _busy_check(current)
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
    _overridden_check(change, current)
    merged = config_apply(current.config.to_dict(), change.base_config, change.desired_config)
    body = build_update_body(ServiceConfig.from_dict(merged), account_password=password)
    _put_mark(change, attempt, merged=merged, current=current)
    accepted = client.update_service(change.service.scp_id, body)
    _with_database(partial(_put_accepted, change, attempt, accepted))


def _earlier_put_found(change: ChangeRequest, attempt: ChangeAttempt, current, *, held) -> bool:
    """Follow an earlier PUT whose answer was lost when SCP shows it under way or applied."""
    if current.is_state(*BUSY_STATES):
        outcome = ChangeAttempt.Outcome.FOUND_UPDATING
        message = said(
            "SCP is updating the service (state %(state)s): the earlier attempt "
            "reached it although its answer was lost. Following it; nothing sent again.",
            state=current.state,
        )
    elif held:
        outcome = ChangeAttempt.Outcome.FOUND_APPLIED
        message = said(
            "SCP already holds every reviewed value: the earlier attempt was applied "
            "although its answer was lost. Following it to the end; nothing sent again."
        )
    else:
        return False
    _attempt_end(attempt, outcome)
    _accepted(change, current, message, update_seen=True)
    return True


def _busy_check(current) -> None:
    """Raise a transient fault while SCP shows another update under way."""
    if current.is_state(*BUSY_STATES):
        raise _console_fault(
            said(
                "SCP reports the service as %(state)s: another update is in progress and SCP "
                "refuses a second one meanwhile.",
                state=current.state,
            ),
            code="ServiceBusy",
        )


def _overridden_check(change: ChangeRequest, current) -> None:
    """Refuse to send over a value SCP changed outside the console after the review."""
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


def _put_mark(
    change: ChangeRequest, attempt: ChangeAttempt, *, merged: dict[str, Any], current
) -> None:
    """Record that the PUT is about to leave; raises _ClaimLost when the claim was taken back.

    Marked before the PUT leaves, with the claim checked under a lock in the same
    transaction: a worker killed mid-call leaves the truth behind, and a worker whose claim
    was taken back (believed dead) never sends.
    """
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


def _put_accepted(change: ChangeRequest, attempt: ChangeAttempt, accepted) -> None:
    """Record SCP's 202: the attempt ends accepted and the change is tracked."""
    message = said(
        "SCP accepted the update (202); it reports the service as %(state)s.",
        state=accepted.state or "?",
    )
    _attempt_end(attempt, ChangeAttempt.Outcome.ACCEPTED)
    # A 202 that says UPDATING is SCP showing this update under way; an empty 202 (seen
    # live on data-flow 1.1) or the old state says nothing, and tracking finds out.
    _accepted(change, accepted, message, update_seen=accepted.is_state(*BUSY_STATES))


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
    _budget_held_back(change, attempt, exc)
    unconfirmed = attempt.put_sent and not _definitive(exc)
    if attempt.put_sent and not unconfirmed:
        ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=False)
    if attempt.put_sent and _settling(change, exc):
        exc = _busy(exc)
    _attempt_end(attempt, _fault_outcome(exc, unconfirmed=unconfirmed), error=exc)
    if unconfirmed:
        _follow_unconfirmed(change, exc)
    elif exc.permanent:
        change_fail(change, scp_error_said(exc), error=error_record(exc))
    else:
        _retry_or_give_up(change, exc)


def _budget_held_back(change: ChangeRequest, attempt: ChangeAttempt, exc: ScpError) -> None:
    """The request budget held the PUT back before it left: nothing was sent."""
    if isinstance(exc, ScpThrottled) and exc.local and attempt.put_sent:
        ChangeAttempt.objects.filter(pk=attempt.pk).update(put_sent=False)
        attempt.put_sent = False
        ChangeRequest.objects.filter(pk=change.pk).update(put_unconfirmed=False)


def _fault_outcome(exc: ScpError, *, unconfirmed: bool) -> str:
    """How the attempt ended, as its row says it."""
    if unconfirmed:
        return ChangeAttempt.Outcome.ANSWER_LOST
    if isinstance(exc, ScpThrottled):
        return ChangeAttempt.Outcome.THROTTLED
    if exc.permanent:
        return ChangeAttempt.Outcome.REFUSED
    return ChangeAttempt.Outcome.TRANSIENT


def _follow_unconfirmed(change: ChangeRequest, exc: ScpError) -> None:
    """SCP may have the update: follow the service instead of sending it again."""
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
        **tracking_start(now),
    )
    change_enqueue(TRACK_TASK, change.pk, countdown=settings.SCP_TRACK_FIRST_POLL_SECONDS)


def _retry_or_give_up(change: ChangeRequest, exc: ScpError) -> None:
    """A transient fault: queue the change again, or fail it once SCP_RETRY_PATIENCE_MINUTES
    have passed since the first one."""
    give_up_at = retry_deadline(change)
    if timezone.now() >= give_up_at:
        sentence = said(
            "%(error)s SCP kept answering so for %(minutes)s minutes (%(count)s attempts): "
            "the change gives up; nothing was applied.",
            error=scp_error_said(exc),
            minutes=f"{settings.SCP_RETRY_PATIENCE_MINUTES:g}",
            count=change.attempts,
        )
        change_fail(change, sentence, error=error_record(exc))
        return
    change_requeue(change, frm=Status.SUBMITTING, reason=scp_error_said(exc), wait=exc.retry_after)


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


def _attempt_end(
    attempt: ChangeAttempt, outcome: str, *, error: ScpError | None = None, **fields: Any
) -> None:
    """Close an attempt's row with its outcome (and SCP's error, when there was one)."""
    if error is not None:
        sentence = scp_error_said(error)
        fields.update(
            http_status=error.status,
            global_request_id=error.global_request_id,
            detail=said_english(sentence)[:2000],
            detail_said=sentence,
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


def _accepted(change: ChangeRequest, detail, message: Said, *, update_seen: bool) -> None:
    """SCP took the update (or shows an earlier one): the change is accepted and tracked."""
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
        **tracking_start(now),
    )
    if not moved:
        # Abandoned by a person while this worker was sending: the truth goes on record.
        change_note(
            change.pk,
            message=said("After the change was given up: %(message)s", message=message),
        )
        return
    change_enqueue(TRACK_TASK, change.pk, countdown=settings.SCP_TRACK_FIRST_POLL_SECONDS)
