"""A running fleet change, wave by wave: the canary alone, then waves of the chosen size.

Each step (Celery `dataflow.fleet_advance`, driven by each member change's final status through
`fleet_followup`, and by the sweeper) waits for the wave under way, stops at the first failure,
starts the next wave (only while its services are inside their maintenance windows), or
finishes. Every member is an ordinary ChangeRequest made by `change_plan` and
`change_submit`, re-planned when its wave starts: only the fleet edit is applied to the
service's configuration of that moment.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from console.dataflow.changes.language import change_language
from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.submit import ChangeRefused, change_submit
from console.dataflow.changes.validators import HOST_ALIASES_MAX
from console.dataflow.fleet.lifecycle import fleet_move
from console.dataflow.fleet.plan import FleetEdit
from console.dataflow.fleet.windows import wave_closed_until
from console.dataflow.models import (
    STATUS_MEANINGS,
    ChangeRequest,
    FleetChange,
    FleetMember,
    Service,
)
from console.dataflow.words.events import Said, said, said_english, said_join, said_n, said_text
from console.scp import ServiceConfig

logger = logging.getLogger(__name__)

ADVANCE_TASK = "dataflow.fleet_advance"
Fleet = FleetChange.Status
Member = FleetMember.State
ChangeStatus = ChangeRequest.Status


def fleet_advance_dispatch(fleet_id: int) -> None:
    """Hand the fleet's next step to a worker; a broker outage is logged (resume recovers)."""
    from console.dataflow.work.queueing import task_send

    task_send(ADVANCE_TASK, fleet_id)


def fleet_followup(change_id: int) -> None:
    """Follow-up of a final change: a member of a fleet change lets its fleet advance."""
    fleet_id = ChangeRequest.objects.filter(pk=change_id).values_list("fleet_id", flat=True).first()
    if fleet_id is not None:
        fleet_advance_dispatch(fleet_id)


def fleet_speaking(fleet_id: int) -> translation.override:
    """Translation for the work on one fleet change: the language its author worked in."""
    language = FleetChange.objects.filter(pk=fleet_id).values_list("language", flat=True)
    return translation.override(change_language(language.first()))


def fleet_advance(*, fleet_id: int) -> None:
    """Take a running fleet change one step: wait, stop at a failure, start a wave, or finish.

    Safe to run any number of times at once: the wave is claimed by a guarded update of
    `FleetChange.wave`, each member by a guarded update of its state, and a fleet stops or
    finishes by a guarded update of its status.
    """
    for _step in range(1000):  # a wave whose members all needed nothing moves straight on
        if not _advance_once(fleet_id):
            return


def _advance_once(fleet_id: int) -> bool:
    """One step; True when the next step should follow at once."""
    fleet = FleetChange.objects.filter(pk=fleet_id).first()
    if fleet is None or fleet.status != Fleet.RUNNING:
        return False
    if not _wave_rest_start(fleet):
        return False
    started = list(
        fleet.members.filter(state__in=(Member.STARTED, Member.STARTING)).select_related(
            "change", "service"
        )
    )
    if not _wave_failures_stop(fleet, started):
        return False
    if any(m.change is None or not m.change.is_final for m in started):
        return False  # the wave is still running: its last member's follow-up comes back
    return _wave_next(fleet)


def _wave_rest_start(fleet: FleetChange) -> bool:
    """Start the members of the claimed wave not started yet (a worker stopped while starting
    it); False when the fleet change no longer runs."""
    for member in fleet.members.filter(wave=fleet.wave, state=Member.WAITING):
        _member_start(fleet, member)
        fleet.refresh_from_db()
        if fleet.status != Fleet.RUNNING:
            return False
    return True


def _wave_failures_stop(fleet: FleetChange, started: list[FleetMember]) -> bool:
    """Stop at each started member whose change ended other than Succeeded; False when the
    fleet change no longer runs."""
    for member in started:
        change = member.change
        if change is not None and change.is_final and change.status != ChangeStatus.SUCCEEDED:
            _member_failed(fleet, member, change)
    fleet.refresh_from_db()
    return fleet.status == Fleet.RUNNING


def _wave_next(fleet: FleetChange) -> bool:
    """Claim and start the next wave, or finish the fleet change when nobody waits."""
    waiting = list(
        fleet.members.filter(state=Member.WAITING, wave__isnull=True).order_by("position")
    )
    if not waiting:
        _fleet_finish(fleet)
        return False
    # The canary (wave 1) goes alone; then waves of the chosen size.
    size = 1 if fleet.wave == 0 else fleet.wave_size
    if wave_closed_until(waiting[:size], now=timezone.now()) is not None:
        return False  # outside a maintenance window: the sweeper's next step starts it
    wave = fleet.wave + 1
    with transaction.atomic():
        # Claim and membership in one commit: a concurrent step sees both or neither.
        claimed = FleetChange.objects.filter(
            pk=fleet.pk, status=Fleet.RUNNING, wave=fleet.wave
        ).update(wave=wave)
        if not claimed:
            return False  # another follow-up started this wave
        FleetMember.objects.filter(pk__in=[m.pk for m in waiting[:size]]).update(wave=wave)
    fleet.wave = wave
    for member in waiting[:size]:
        member.wave = wave
        _member_start(fleet, member)
    # Nothing of this wave went out (each already held the edit): go on at once.
    return not fleet.members.filter(
        wave=wave, state__in=(Member.STARTED, Member.STARTING, Member.FAILED)
    ).exists()


def _fleet_finish(fleet: FleetChange) -> None:
    """Nobody waits any more: the fleet change succeeded, or failed where a member failed."""
    # Failures resumed past still mark the whole: it did not succeed everywhere.
    failed = fleet.members.filter(state=Member.FAILED).count()
    fleet_move(
        fleet.pk,
        frm=Fleet.RUNNING,
        to=Fleet.FAILED if failed else Fleet.SUCCEEDED,
        message=said_n(
            "Finished: %(count)d service failed; the others have the edit.",
            "Finished: %(count)d services failed; the others have the edit.",
            "count",
            count=failed,
        )
        if failed
        else said("Finished: every service has the edit, or already had it."),
    )


# --- One member ---------------------------------------------------------------------------


def _member_start(fleet: FleetChange, member: FleetMember) -> None:
    """Re-plan one member on today's configuration and submit it as an ordinary change.

    Claim, change and outcome commit together: a worker that dies half-way leaves the member
    waiting in its wave, and the next step (a follow-up, or the sweeper) starts it again.
    """
    with transaction.atomic():
        _member_start_in_transaction(fleet, member)


def _member_start_in_transaction(fleet: FleetChange, member: FleetMember) -> None:
    """Claim a waiting member and record what came of submitting it: started, skipped (it
    already held the edit) or failed (and the fleet change stopped)."""
    claimed = FleetMember.objects.filter(pk=member.pk, state=Member.WAITING).update(
        state=Member.STARTING
    )
    if not claimed:
        return
    service = Service.objects.get(pk=member.service_id)
    try:
        change = _member_change_submit(fleet, service)
    except ChangeRefused as exc:
        FleetMember.objects.filter(pk=member.pk).update(
            state=Member.FAILED, note=str(exc), note_said=getattr(exc, "said", None)
        )
        _stop(
            fleet,
            said(
                "%(service)s could not be started: %(reason)s",
                service=service.name,
                reason=str(exc),
            ),
        )
        return
    if change is None:
        skipped = said("Its configuration already held the edit.")
        FleetMember.objects.filter(pk=member.pk).update(
            state=Member.SKIPPED, note=said_english(skipped), note_said=skipped
        )
        return
    FleetMember.objects.filter(pk=member.pk).update(state=Member.STARTED, change=change)


def _member_change_submit(fleet: FleetChange, service: Service) -> ChangeRequest | None:
    """The member's change, planned on the service's configuration of now and submitted; None
    when the configuration already holds the edit. ChangeRefused when it may not start."""
    desired = FleetEdit.from_dict(fleet.edit).apply(service.config or {})
    reason = _("%(reason)s\n\nFleet change #%(number)s: %(edit)s.") % {
        "reason": fleet.reason,
        "number": fleet.pk,
        "edit": fleet.edit_summary,
    }
    _member_check(fleet, service, desired)
    plan = change_plan(
        service=service,
        desired=ServiceConfig.from_dict(desired),
        password_changed=False,
        kind=ChangeRequest.Kind.HOST_ALIASES,
    )
    if not plan.entries:
        return None
    return change_submit(
        plan=plan, author=fleet.author, reason=reason, ticket=fleet.ticket, fleet=fleet
    )


def _member_check(fleet: FleetChange, service: Service, desired: dict) -> None:
    """ChangeRefused when the member may not start: no author, not RUNNING, or too many aliases."""
    if fleet.author is None:
        raise _refused(said("The fleet change's author no longer exists."))
    if (service.state or "").upper() != "RUNNING":
        raise _refused(
            said(
                "SCP reports it as %(state)s, not RUNNING.", state=service.state or said("unknown")
            )
        )
    if len(desired.get("host_aliases") or []) > HOST_ALIASES_MAX:
        raise _refused(said("It would have more than %(max)s host aliases.", max=HOST_ALIASES_MAX))


def _refused(reason: Said) -> ChangeRefused:
    """A refusal that also carries its facts, so the member's note is said to each reader."""
    refusal = ChangeRefused(said_text(reason))
    refusal.said = reason
    return refusal


def _member_failed(fleet: FleetChange, member: FleetMember, change: ChangeRequest) -> None:
    """A member's change ended other than Succeeded: the fleet change stops, saying why."""
    why: Said | str = (change.error or {}).get("said") or change.error_text
    if change.status == ChangeStatus.DIFFERENT:
        labels = [said(d["label"]) for d in change.differences if d.get("label")]
        why = said(
            "SCP runs it, but differs from the request in: %(fields)s.",
            fields=said_join(*labels, sep=", "),
        )
    note = said(
        "Change #%(number)s %(status)s: %(why)s",
        number=change.pk,
        status=_english_said(change.get_status_display),
        why=why or _english_said(lambda: STATUS_MEANINGS.get(change.status, "")),
    )
    moved = FleetMember.objects.filter(pk=member.pk, state=Member.STARTED).update(
        state=Member.FAILED, note=said_english(note), note_said=note
    )
    if moved:
        _stop(fleet, said("%(service)s failed. %(note)s", service=member.service.name, note=note))


def _english_said(label) -> Said:
    """A marked string (a status, its meaning) as a sentence: its English is its msgid."""
    with translation.override("en"):
        return said(str(label()))


def _stop(fleet: FleetChange, reason: Said) -> None:
    """The fleet change stops at a failure, saying why; a person resumes or cancels it."""
    fleet_move(
        fleet.pk,
        frm=Fleet.RUNNING,
        to=Fleet.STOPPED,
        message=reason,
        stop_reason=said_english(reason),  # the page says the stop event in its reader's language
    )
