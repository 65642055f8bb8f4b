"""Fleet changes: one host-alias edit across many services, a canary first, then waves.

preview → submit (FleetChange + members; approval as a whole where a connection asks) →
advance (Celery `dataflow.fleet_advance`, driven by each member change's final status) →
stop at the first failure → resume or cancel. Every member is an ordinary ChangeRequest made
by `change_plan`/`change_submit`, so lifecycle, history and notifications work as for any.

Members keep the diff of preview time for the record, but each is re-planned when its wave
starts: only the fleet edit is applied to the service's configuration of that moment.
"""

from __future__ import annotations

import copy
import hashlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import (
    ApprovalRefused,
    approval_needed,
    approver_check,
)
from console.dataflow.changes.configdiff import config_diff
from console.dataflow.changes.language import change_language, scp_language
from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.submit import ChangeRefused, change_submit
from console.dataflow.changes.validators import HOST_ALIASES_MAX
from console.dataflow.fleet.lifecycle import fleet_create, fleet_move
from console.dataflow.models import (
    IN_FLIGHT,
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
WAVE_SIZE_DEFAULT = 5
Fleet = FleetChange.Status
Member = FleetMember.State
ChangeStatus = ChangeRequest.Status


# --- The edit -----------------------------------------------------------------------------


@dataclass(frozen=True)
class FleetEdit:
    """The one host-alias edit a fleet change applies to each service's configuration."""

    action: str  # replace_ip, add_lines, remove_host
    old_ip: str = ""
    new_ip: str = ""
    lines: tuple[tuple[str, str], ...] = ()  # (hostname, ip) pairs from hosts-file lines
    hostname: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "old_ip": self.old_ip,
            "new_ip": self.new_ip,
            "lines": [list(pair) for pair in self.lines],
            "hostname": self.hostname,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FleetEdit:
        return cls(
            action=data["action"],
            old_ip=data.get("old_ip", ""),
            new_ip=data.get("new_ip", ""),
            lines=tuple((h, ip) for h, ip in data.get("lines", [])),
            hostname=data.get("hostname", ""),
        )

    @property
    def summary(self) -> str:
        """The edit in one line, for pages and the changes' reason."""
        if self.action == "replace_ip":
            return _("Replace IP %(old)s with %(new)s") % {"old": self.old_ip, "new": self.new_ip}
        if self.action == "add_lines":
            return _("Add %(lines)s") % {"lines": ", ".join(f"{ip} {h}" for h, ip in self.lines)}
        return _("Remove host name %(hostname)s") % {"hostname": self.hostname}

    def apply(self, config: dict[str, Any]) -> dict[str, Any]:
        """The configuration with this edit applied (a new dict; host aliases only)."""
        desired = copy.deepcopy(config)
        aliases = [dict(a) for a in desired.get("host_aliases") or []]
        if self.action == "replace_ip":
            for alias in aliases:
                if alias["ip"] == self.old_ip:
                    alias["ip"] = self.new_ip
                    # The new IP must reach the pods: a switched-off list is switched on.
                    desired["host_alias_enabled"] = True
        elif self.action == "add_lines":
            for hostname, ip in self.lines:
                # A host name has one IP (hosts-file semantics): a known name is pointed anew.
                known = next((a for a in aliases if a["hostname"] == hostname), None)
                if known is None:
                    aliases.append({"hostname": hostname, "ip": ip})
                else:
                    known["ip"] = ip
            # Lines added to a switched-off list would never reach the pods.
            desired["host_alias_enabled"] = True
        elif self.action == "remove_host":
            aliases = [a for a in aliases if a["hostname"] != self.hostname]
        desired["host_aliases"] = aliases
        return desired


# --- Selection and preview ----------------------------------------------------------------


def services_select(
    *,
    name: str = "",
    state: str = "",
    cluster: str = "",
    connection: str = "",
    contains: str = "",
) -> list[Service]:
    """Services matching the filters; `contains` is an IP or host name among their aliases."""
    rows: QuerySet[Service] = Service.objects.filter(gone_at__isnull=True).order_by("name", "pk")
    if name:
        rows = rows.filter(name__icontains=name)
    if state:
        rows = rows.filter(state__iexact=state)
    if cluster:
        rows = rows.filter(cluster_name__icontains=cluster) | rows.filter(cluster_id=cluster)
    if connection:
        rows = rows.filter(connection_name=connection)
    services = list(rows.distinct().order_by("name", "pk"))
    if contains:
        needle = contains.strip().lower()
        services = [
            s
            for s in services
            if any(
                needle in (a.get("ip", "").lower(), a.get("hostname", "").lower())
                for a in (s.config or {}).get("host_aliases") or []
            )
        ]
    return services


@dataclass
class PreviewRow:
    """One selected service in the preview: its diff, or why it is left out."""

    service: Service
    entries: list[dict[str, Any]] = field(default_factory=list)
    flag: str = ""  # why the edit cannot be applied ("" when it can)
    unchanged: bool = False

    @property
    def included(self) -> bool:
        return not self.flag and not self.unchanged

    @property
    def switches_on(self) -> bool:
        """True when the edit switches this service's host aliases on (they were off)."""
        return any(e["field"] == "host_alias_enabled" and e["after"] is True for e in self.entries)


@dataclass
class Preview:
    """Every selected service with its own diff; the included ones run, canary first."""

    edit: FleetEdit
    rows: list[PreviewRow]

    @property
    def included(self) -> list[PreviewRow]:
        return [row for row in self.rows if row.included]

    @property
    def token(self) -> str:
        """The edit, the included services and their revisions: confirm is refused if it moved."""
        services = ",".join(f"{r.service.pk}:{r.service.config_revision}" for r in self.included)
        edit = json.dumps(self.edit.to_dict(), sort_keys=True)
        return hashlib.sha256(f"{edit}|{services}".encode()).hexdigest()


def fleet_preview(*, services: list[Service], edit: FleetEdit) -> Preview:
    """Plan the edit on each service; flag those it cannot apply to, skip those it leaves alone."""
    busy = set(
        ChangeRequest.objects.filter(service__in=services, status__in=IN_FLIGHT).values_list(
            "service_id", flat=True
        )
    )
    rows = []
    for service in services:
        config = service.config or {}
        desired = edit.apply(config)
        entries = config_diff(config, desired)
        row = PreviewRow(service=service, entries=entries, unchanged=not entries)
        if service.pk in busy:
            row.flag = _("Another change of this service is in flight.")
        elif (service.state or "").upper() != "RUNNING":
            row.flag = _("SCP reports it as %(state)s, not RUNNING.") % {
                "state": service.state or _("unknown")
            }
        elif entries and len(desired["host_aliases"]) > HOST_ALIASES_MAX:
            row.flag = _("It would have %(count)s host aliases; SCP allows at most %(max)s.") % {
                "count": len(desired["host_aliases"]),
                "max": HOST_ALIASES_MAX,
            }
        rows.append(row)
    return Preview(edit=edit, rows=rows)


# --- Submit -------------------------------------------------------------------------------


def fleet_submit(
    *, preview: Preview, author, ticket: str, reason: str, wave_size: int = WAVE_SIZE_DEFAULT
) -> FleetChange:
    """Record a confirmed preview as a fleet change; it starts after commit, or awaits approval.

    A fleet change needs approval as a whole when any of its services' connections asks for it.
    """
    included = preview.included
    if not included:
        raise ChangeRefused(_("The edit changes none of the selected services: nothing to do."))
    waits = any(approval_needed(connection_name=r.service.connection_name) for r in included)
    name = author.get_username()
    if waits:
        first = said(
            "Confirmed by %(author)s; waiting for a team lead or another admin to approve it. "
            "Nothing is sent before.",
            author=name,
        )
    else:
        first = said("Started by %(author)s.", author=name)
    with transaction.atomic():
        fleet = fleet_create(
            status=Fleet.AWAITING_APPROVAL if waits else Fleet.RUNNING,
            message=first,
            author=author,
            author_name=name,
            edit=preview.edit.to_dict(),
            edit_summary=preview.edit.summary[:300],
            ticket=ticket.strip(),
            reason=reason.strip(),
            wave_size=max(1, wave_size),
            language=scp_language(),
        )
        for position, row in enumerate(preview.rows, start=1):
            FleetMember.objects.create(
                fleet=fleet,
                service=row.service,
                position=position,
                state=Member.WAITING if row.included else Member.EXCLUDED,
                note=row.flag or (_("The edit changes nothing here.") if row.unchanged else ""),
                base_revision=row.service.config_revision,
                diff=row.entries,
            )
        if not waits:
            transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return fleet


# --- Approval (as a whole) ----------------------------------------------------------------


def fleet_approve(*, fleet: FleetChange, by, comment: str = "") -> bool:
    """An approver (never the author) lets a waiting fleet change start; False if it moved on."""
    approver_check(user=by, author_id=fleet.author_id)
    name, comment = by.get_username(), comment.strip()
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=Fleet.AWAITING_APPROVAL,
            to=Fleet.RUNNING,
            message=said("Approved by %(name)s: %(comment)s", name=name, comment=comment)
            if comment
            else said("Approved by %(name)s.", name=name),
            decision="approved",
            decided_by=by,
            decided_by_name=name,
            decided_at=timezone.now(),
            decision_comment=comment,
        )
        if moved:
            transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return bool(moved)


def fleet_reject(*, fleet: FleetChange, by, comment: str) -> bool:
    """An approver (never the author) refuses a waiting fleet change; nothing is ever sent."""
    approver_check(user=by, author_id=fleet.author_id)
    if not comment.strip():
        raise ApprovalRefused(_("Say why the fleet change is rejected: the author reads it."))
    name, comment = by.get_username(), comment.strip()
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=Fleet.AWAITING_APPROVAL,
            to=Fleet.REJECTED,
            message=said("Rejected by %(name)s: %(comment)s", name=name, comment=comment),
            decision="rejected",
            decided_by=by,
            decided_by_name=name,
            decided_at=timezone.now(),
            decision_comment=comment,
        )
        if moved:
            fleet.members.filter(state=Member.WAITING).update(state=Member.CANCELLED)
    return bool(moved)


# --- Advance (Celery) ---------------------------------------------------------------------


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
    # Members of the claimed wave not started yet (a worker stopped while starting it).
    for member in fleet.members.filter(wave=fleet.wave, state=Member.WAITING):
        _member_start(fleet, member)
        fleet.refresh_from_db()
        if fleet.status != Fleet.RUNNING:
            return False
    started = list(
        fleet.members.filter(state__in=(Member.STARTED, Member.STARTING)).select_related(
            "change", "service"
        )
    )
    for member in started:
        change = member.change
        if change is not None and change.is_final and change.status != ChangeStatus.SUCCEEDED:
            _member_failed(fleet, member, change)
    fleet.refresh_from_db()
    if fleet.status != Fleet.RUNNING:
        return False
    if any(m.change is None or not m.change.is_final for m in started):
        return False  # the wave is still running: its last member's follow-up comes back
    return _wave_next(fleet)


def _wave_next(fleet: FleetChange) -> bool:
    """Claim and start the next wave, or finish the fleet change when nobody waits."""
    waiting = list(
        fleet.members.filter(state=Member.WAITING, wave__isnull=True).order_by("position")
    )
    if not waiting:
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
        return False
    # The canary (wave 1) goes alone; then waves of the chosen size.
    size = 1 if fleet.wave == 0 else fleet.wave_size
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


def _member_start(fleet: FleetChange, member: FleetMember) -> None:
    """Re-plan one member on today's configuration and submit it as an ordinary change.

    Claim, change and outcome commit together: a worker that dies half-way leaves the member
    waiting in its wave, and the next step (a follow-up, or the sweeper) starts it again.
    """
    with transaction.atomic():
        _member_start_in_transaction(fleet, member)


def _member_start_in_transaction(fleet: FleetChange, member: FleetMember) -> None:
    claimed = FleetMember.objects.filter(pk=member.pk, state=Member.WAITING).update(
        state=Member.STARTING
    )
    if not claimed:
        return
    service = Service.objects.get(pk=member.service_id)
    edit = FleetEdit.from_dict(fleet.edit)
    desired = edit.apply(service.config or {})
    reason = _("%(reason)s\n\nFleet change #%(number)s: %(edit)s.") % {
        "reason": fleet.reason,
        "number": fleet.pk,
        "edit": fleet.edit_summary,
    }
    try:
        if fleet.author is None:
            raise ChangeRefused(_("The fleet change's author no longer exists."))
        if (service.state or "").upper() != "RUNNING":
            raise ChangeRefused(
                _("SCP reports it as %(state)s, not RUNNING.")
                % {"state": service.state or _("unknown")}
            )
        if len(desired.get("host_aliases") or []) > HOST_ALIASES_MAX:
            raise ChangeRefused(
                _("It would have more than %(max)s host aliases.") % {"max": HOST_ALIASES_MAX}
            )
        plan = change_plan(
            service=service,
            desired=ServiceConfig.from_dict(desired),
            password_changed=False,
            kind=ChangeRequest.Kind.HOST_ALIASES,
        )
        if not plan.entries:
            FleetMember.objects.filter(pk=member.pk).update(
                state=Member.SKIPPED, note=_("Its configuration already held the edit.")
            )
            return
        change = change_submit(
            plan=plan, author=fleet.author, reason=reason, ticket=fleet.ticket, fleet=fleet
        )
    except ChangeRefused as exc:
        FleetMember.objects.filter(pk=member.pk).update(state=Member.FAILED, note=str(exc))
        _stop(
            fleet,
            said(
                "%(service)s could not be started: %(reason)s",
                service=service.name,
                reason=str(exc),
            ),
        )
        return
    FleetMember.objects.filter(pk=member.pk).update(state=Member.STARTED, change=change)


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
        state=Member.FAILED, note=said_text(note)
    )
    if moved:
        _stop(fleet, said("%(service)s failed. %(note)s", service=member.service.name, note=note))


def _english_said(label) -> Said:
    """A marked string (a status, its meaning) as a sentence: its English is its msgid."""
    with translation.override("en"):
        return said(str(label()))


def _stop(fleet: FleetChange, reason: Said) -> None:
    fleet_move(
        fleet.pk,
        frm=Fleet.RUNNING,
        to=Fleet.STOPPED,
        message=reason,
        stop_reason=said_english(reason),  # the page says the stop event in its reader's language
    )


# --- Resume, cancel (a person) ------------------------------------------------------------


def fleet_resume(*, fleet: FleetChange, by) -> bool:
    """Go on after a stop: the failed services stay failed, the waiting ones follow in waves."""
    moved = fleet_move(
        fleet.pk,
        frm=Fleet.STOPPED,
        to=Fleet.RUNNING,
        message=said("Resumed by %(name)s.", name=by.get_username()),
        stop_reason="",
        # The next wave is claimed from here; a wave left half started is finished first.
    )
    if moved:
        transaction.on_commit(lambda: fleet_advance_dispatch(fleet.pk))
    return moved


def fleet_cancel(*, fleet: FleetChange, by) -> bool:
    """Stop for good: services not started yet are never sent; those under way go on."""
    cancelled = said("Cancelled by %(name)s.", name=by.get_username())
    with transaction.atomic():
        moved = fleet_move(
            fleet.pk,
            frm=(Fleet.RUNNING, Fleet.STOPPED, Fleet.AWAITING_APPROVAL),
            to=Fleet.CANCELLED,
            message=cancelled,
            stop_reason=said_english(cancelled),
        )
        if moved:
            fleet.members.filter(state=Member.WAITING).update(state=Member.CANCELLED)
    return bool(moved)
