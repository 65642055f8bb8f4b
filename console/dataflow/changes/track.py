"""Tracking an accepted change (Celery): poll SCP until the service runs again, fails or the
deadline passes, and judge the outcome."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from console.dataflow.changes.configdiff import config_diff, edits_held
from console.dataflow.changes.lifecycle import change_move, change_note
from console.dataflow.changes.steps import (
    BUSY_STATES,
    TRACK_TASK,
    change_enqueue,
    change_fail,
    change_requeue,
    error_record,
    retry_deadline,
)
from console.dataflow.connections.clients import ConnectionUnavailable, scp_client_for
from console.dataflow.inventory.revisions import service_apply_detail
from console.dataflow.models import TRACKING, ChangeRequest, Service
from console.dataflow.words.events import Said, said, said_join, said_n
from console.dataflow.words.scp_text import scp_error_said
from console.dataflow.work.workers import worker_identity
from console.scp import ScpError

logger = logging.getLogger(__name__)
Status = ChangeRequest.Status


# After this many failed reads in a row the timeline says so again (the first one says so too).
POLL_ERRORS_TOLERATED = 5
# A poll may run this early (clock skew between machines) and books this long a lease.
POLL_EARLY_SLACK = 1.0
POLL_LEASE_SECONDS = 60.0


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
    """One poll of a claimed change: read SCP, judge what it shows, book the next poll."""
    service = change.service
    try:
        detail = scp_client_for(service.connection_name, language=change.language).get_service(
            service.scp_id
        )
    except (ScpError, ConnectionUnavailable, ValueError) as exc:
        # SCP accepted the update: only SCP's own view of the service may end the change.
        # Throttling, a 401 after a clock jump, a 5xx: keep reading until the deadline.
        return _poll_failed(change, exc, now)
    _poll_record(change, detail)
    ended = (
        _seen_ended(change, detail)
        if _update_seen(change, detail)
        else _unseen_ended(change, detail, now)
    )
    if ended:
        return None
    if change.track_deadline and now >= change.track_deadline:
        _gave_up(change, detail)
        return None
    return _schedule_next_poll(change, now)


def _unseen_ended(change: ChangeRequest, detail, now) -> bool:
    """SCP has not shown the update yet: past the start grace the change ends (or is queued
    again); before it, the first poll says what SCP still shows. True when the change ended."""
    grace = timedelta(seconds=settings.SCP_TRACK_START_GRACE_SECONDS)
    if change.accepted_at and now - change.accepted_at >= grace:
        _never_started(change, detail)
        return True
    if change.polls == 1:
        change_note(
            change.pk,
            message=said(
                "SCP still shows the previous state (%(state)s); waiting for the update to start.",
                state=detail.state or said("unknown"),
            ),
        )
    return False


def _poll_record(change: ChangeRequest, detail) -> None:
    """Store what SCP reports of the service, and count the poll on the change."""
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=change.service.pk)
        service_apply_detail(service=locked, detail=detail)
    ChangeRequest.objects.filter(pk=change.pk).update(
        polls=F("polls") + 1,
        poll_errors_in_a_row=0,
        web_url_nifi=detail.web_url_nifi or change.web_url_nifi,
        web_url_registry=detail.web_url_registry or change.web_url_registry,
    )
    change.polls += 1


def _update_seen(change: ChangeRequest, detail) -> bool:
    """Whether SCP has shown this change's update, recording it the first time it does."""
    seen = change.update_seen or _update_evidence(change, detail)
    if seen and not change.update_seen:
        # SCP shows the update: whatever answer was lost, the PUT arrived.
        ChangeRequest.objects.filter(pk=change.pk).update(update_seen=True, put_unconfirmed=False)
        change.update_seen = True
        change.put_unconfirmed = False
    return seen


def _seen_ended(change: ChangeRequest, detail) -> bool:
    """Judge a service that has shown the update: ERROR fails, RUNNING finishes the change;
    anything else is the update under way. True when the change ended."""
    if detail.is_state("ERROR"):
        change_fail(
            change,
            said_join(
                said(
                    "SCP reports the service in ERROR after this update started: the update failed."
                ),
                _flag_note(detail),
            ),
            error={"said": said("SCP reports state ERROR."), "state": detail.state},
        )
        return True
    if detail.is_state("RUNNING"):
        _finish(change, config_diff(change.desired_config, detail.config.to_dict()), detail)
        return True
    if change.status == Status.ACCEPTED:
        change_move(
            change.pk,
            frm=Status.ACCEPTED,
            to=Status.UPDATING,
            message=said(
                "SCP reports the service as %(state)s.", state=detail.state or said("unknown")
            ),
        )
    return False


def _gave_up(change: ChangeRequest, detail) -> None:
    """The tracking deadline passed before SCP showed an end: the change fails."""
    gave_up = said(
        "Gave up waiting after %(minutes)s minutes: SCP still reports %(state)s. Check the "
        "service in SCP before changing it again.",
        minutes=f"{settings.SCP_TRACK_DEADLINE_MINUTES:g}",
        state=detail.state,
    )
    change_fail(change, gave_up, error={"said": gave_up, "state": detail.state})


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


def _never_started(change: ChangeRequest, detail) -> None:
    """The grace period passed without any sign of the update in SCP."""
    minutes = settings.SCP_TRACK_START_GRACE_SECONDS / 60
    if change.put_unconfirmed and timezone.now() < retry_deadline(change):
        change_requeue(
            change,
            frm=Status.ACCEPTED,
            reason=said(
                "In %(minutes)s minutes SCP never showed the update whose answer was lost "
                "(state %(state)s, the previous configuration): it did not arrive.",
                minutes=f"{minutes:g}",
                state=detail.state or said("unknown"),
            ),
        )
        return
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
    change_fail(change, sentence, error={"said": sentence, "state": detail.state})


def _flag_note(detail) -> Said | str:
    """A sentence when SCP flags the cluster request as failed, else nothing."""
    if not detail.cluster_request_failed:
        return ""
    return said("SCP also flags cluster_request_failed.")


def _poll_failed(change: ChangeRequest, exc: Exception, now) -> float | None:
    """A poll that did not read the service: note it, and read again until the deadline."""
    errors = change.poll_errors_in_a_row + 1
    ChangeRequest.objects.filter(pk=change.pk).update(poll_errors_in_a_row=errors)
    reason = scp_error_said(exc) if isinstance(exc, ScpError) else str(exc)
    if change.track_deadline and now >= change.track_deadline:
        change_fail(
            change,
            said("Gave up waiting: SCP stopped answering (%(error)s).", error=reason),
            error=error_record(exc),
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
    """Book the next poll (only the holder of this poll's lease can) and say how soon it is."""
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
        change_enqueue(TRACK_TASK, change.pk, countdown=delay)
    return delay


def _finish(change: ChangeRequest, differences: list[dict[str, Any]], detail) -> None:
    """The service runs again: Succeeded, or Different when SCP holds other values."""
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
