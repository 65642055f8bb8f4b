"""A change awaiting approval, re-planned on what SCP holds when an approver decides.

Nothing of a waiting change was sent, so SCP may have moved on since its author confirmed it.
The approver's page and the approval itself read SCP first (a change found there is recorded
as changed outside the console). A field SCP changed meanwhile that the change does not set is
kept: only the change's own edits go on top, as a stale form is rebased. A field the change
sets that SCP now holds with another value is a conflict: the approver replaces SCP's value
explicitly, on the configuration they saw, or sends the change back to its author.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from console.dataflow.changes.approvals import ApprovalRefused, approver_check
from console.dataflow.changes.configdiff import config_apply, config_diff
from console.dataflow.changes.lifecycle import change_move
from console.dataflow.connections.clients import (
    PAGE_WAIT_SECONDS,
    ConnectionUnavailable,
    scp_client_for,
)
from console.dataflow.inventory.revisions import field_value, service_apply_detail
from console.dataflow.models import ChangeRequest, ConfigRevision, Service
from console.dataflow.people.timezones import when_text
from console.dataflow.words.events import Said, said, said_join, said_text
from console.dataflow.words.scp_text import scp_error_text
from console.scp import ScpError

Status = ChangeRequest.Status
# A switch's value is a word ("on"/"off"), translated when shown; every other value is data.
_WORDS = ("host_alias_enabled",)


class ApprovalUnchecked(ApprovalRefused):
    """SCP could not be read, so what approving would replace is unknown: nothing is approved."""


class ApprovalConflict(ApprovalRefused):
    """Approving would replace a newer value SCP holds, and the approver did not say to."""


class ApprovalStale(ApprovalRefused):
    """SCP's configuration moved after the approver's page was drawn: they decide again."""


@dataclass(frozen=True)
class Replan:
    """A waiting change's own edits on the configuration the console holds of SCP now."""

    revision: int
    base_config: dict[str, Any]
    desired_config: dict[str, Any]
    # What approving sends: SCP's values now → the change's (config_diff entries).
    entries: list[dict[str, Any]]
    # What SCP changed since the author confirmed: config_diff entries with `by`, `at`,
    # `edited` (the change sets it too), `conflict` and, for a conflict, its `sentence`.
    meanwhile: list[dict[str, Any]]

    @property
    def conflicts(self) -> list[dict[str, Any]]:
        """The fields the change sets that SCP now holds with another value."""
        return [entry for entry in self.meanwhile if entry["conflict"]]

    @property
    def kept(self) -> list[dict[str, Any]]:
        """The fields SCP changed meanwhile that the change does not set: they stay."""
        return [entry for entry in self.meanwhile if not entry["edited"]]


def approval_read(*, service: Service) -> None:
    """Read the service from SCP now and store what it reports, as a refresh of it would.

    Raises ApprovalUnchecked with a sentence when SCP cannot be read.
    """
    read_at = timezone.now()
    try:
        detail = scp_client_for(service.connection_name, wait=PAGE_WAIT_SECONDS).get_service(
            service.scp_id
        )
    except (ScpError, ConnectionUnavailable, ValueError) as exc:
        error = scp_error_text(exc) if isinstance(exc, ScpError) else str(exc)
        raise ApprovalUnchecked(
            _(
                "SCP could not be read to see what it holds now, so nothing was approved: "
                "%(error)s Try again in a moment."
            )
            % {"error": error}
        ) from None
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        service_apply_detail(service=locked, detail=detail, read_at=read_at)


def approval_replan(*, change: ChangeRequest, service: Service) -> Replan:
    """The change's edits (its desired config against its base) on `service`'s config of now."""
    current = service.config
    base, desired = change.base_config, change.desired_config
    planned = config_apply(current, base, desired)
    entries = config_diff(current, planned, password_changed=change.password_changed)
    ours = {entry["field"]: entry for entry in entries}
    edited = {entry["field"] for entry in config_diff(base, desired)}
    records = _outside_records(service, since_revision=change.base_revision)
    meanwhile = []
    for entry in config_diff(base, current):
        path = entry["field"]
        by, at = _who_and_when(path, records, service)
        conflict = path in edited and field_value(current, path) != field_value(desired, path)
        entry.update(by=by, at=at, edited=path in edited, conflict=conflict)
        if conflict:
            entry["sentence"] = _conflict_sentence(entry, ours.get(path))
        meanwhile.append(entry)
    return Replan(service.config_revision, current, planned, entries, meanwhile)


def approval_check(*, replan: Replan, override: bool, seen_revision: int | None) -> None:
    """Raise unless approving `replan` is what the approver decided.

    A conflict needs an explicit decision to replace SCP's values, taken on the configuration
    the approver saw (`seen_revision`).
    """
    if not replan.conflicts:
        return
    if not override:
        raise ApprovalConflict(
            _(
                "SCP now holds other values for fields this change sets: replace them "
                "explicitly, or send the change back to its author."
            )
        )
    if seen_revision != replan.revision:
        raise ApprovalStale(
            _(
                "SCP's configuration changed again while you were reviewing: read the newer "
                "values, then decide again."
            )
        )


def approval_fields(*, change: ChangeRequest, replan: Replan) -> dict[str, Any]:
    """The change's plan as approved: its edits on SCP's configuration of now."""
    return {
        "base_revision": replan.revision,
        "base_config": replan.base_config,
        "desired_config": replan.desired_config,
        # SCP may already hold every edit: the worker then sends nothing; the diff stays.
        "diff": replan.entries or change.diff,
    }


def approval_message(*, name: str, comment: str, replan: Replan, override: bool) -> Said:
    """The approval's timeline line: who, what SCP changed meanwhile, what is replaced, and why."""
    notes: list[Said] = [kept] if (kept := replan_kept_said(replan)) else []
    if override and replan.conflicts:
        notes.append(
            said(
                "The approver chose to replace what SCP held: %(conflicts)s",
                conflicts=_conflicts_said(replan),
            )
        )
    if comment and not notes:
        return said("Approved by %(name)s: %(comment)s", name=name, comment=comment)
    if comment:
        notes.append(said("Comment: %(comment)s", comment=comment))
    return said_join(said("Approved by %(name)s.", name=name), *notes)


def replan_kept_said(replan: Replan) -> Said | None:
    """What SCP changed meanwhile that stays as SCP holds it, or None when nothing did."""
    if not replan.kept:
        return None
    return said(
        "Re-planned on SCP's configuration of now: %(fields)s changed in SCP after the "
        "author confirmed and stay as SCP holds them.",
        fields=_labels_said(replan.kept),
    )


def replan_conflicts_said(replan: Replan) -> Said:
    """Each field the change sets that SCP now holds with another value, with its sentence."""
    return _conflicts_said(replan)


def change_send_back(*, change: ChangeRequest, by, comment: str = "") -> bool:
    """An approver returns a waiting change to its author, saying what SCP holds now.

    The change ends Rejected with that sentence (its author hears of it as of any rejection)
    and is never sent; the author makes it again on SCP's current configuration if still
    needed. False when the change no longer waits.
    """
    approver_check(user=by, author_id=change.author_id)
    name = by.get_username()
    replan = approval_replan(change=change, service=Service.objects.get(pk=change.service_id))
    if replan.conflicts:
        reason = said(
            "SCP changed fields this change sets after its author confirmed it. %(conflicts)s "
            "Make the change again on SCP's current configuration if it is still needed.",
            conflicts=_conflicts_said(replan),
        )
    else:
        reason = said(
            "SCP's configuration changed after its author confirmed it. Make the change again "
            "on SCP's current configuration if it is still needed."
        )
    reason = said_join(reason, comment.strip())
    return change_move(
        change.pk,
        frm=Status.AWAITING_APPROVAL,
        to=Status.REJECTED,
        message=said("Sent back to its author by %(name)s: %(reason)s", name=name, reason=reason),
        # The decision comment is read by the author, in their own language.
        **ChangeRequest.decided("rejected", by=by, comment=said_text(reason)),
    )


# --- Helpers ------------------------------------------------------------------------------


def _outside_records(service: Service, *, since_revision: int) -> list[ChangeRequest]:
    """Outside entries explaining the revisions after `since_revision`, newest first."""
    ids = ConfigRevision.objects.filter(
        service=service, revision__gt=since_revision, change__kind=ChangeRequest.Kind.OUTSIDE
    ).values("change")
    return list(ChangeRequest.objects.filter(pk__in=ids).order_by("-created_at", "-pk"))


def _who_and_when(
    path: str, records: list[ChangeRequest], service: Service
) -> tuple[str, datetime | None]:
    """SCP's `modified_by` ("" when unknown) and when the field last changed outside."""
    for record in records:
        if path in {entry.get("field") for entry in record.diff or ()}:
            return record.scp_modified_by, record.created_at
    return "", service.scp_modified_at or service.synced_at


def _shown(entry: dict[str, Any] | None, side: str) -> str:
    """A diff entry's value before or after, as a person reads it; "no entry" for a missing one."""
    if entry is None:
        return ""
    if (side == "before" and entry["kind"] == "added") or (
        side == "after" and entry["kind"] == "removed"
    ):
        return _("no entry")
    value = str(entry[f"{side}_display"])
    return _(value) if entry["field"] in _WORDS else value


def _conflict_sentence(entry: dict[str, Any], ours: dict[str, Any] | None) -> str:
    """ "SCP now holds 4096 MiB, changed outside the console at …; this change would set 2048"."""
    return _(
        "SCP now holds %(scp)s, changed outside the console at %(when)s; this change would set "
        "%(ours)s."
    ) % {
        "scp": _shown(entry, "after"),
        "when": when_text(entry["at"]),
        "ours": _shown(ours, "after"),
    }


def _label_said(entry: dict[str, Any]) -> Said:
    """`_label`, said in the reader's language when it is shown."""
    if entry["section"] == "Host aliases":
        return said("host alias %(hostname)s", hostname=entry["label"])
    return said(entry["label"])


def _labels_said(entries: list[dict[str, Any]]) -> Said:
    return said_join(*(_label_said(entry) for entry in entries), sep=", ")


def _conflicts_said(replan: Replan) -> Said:
    """Each conflict as "<field>: <sentence>", one after the other (the sentence as the
    approver read it)."""
    return said_join(
        *(
            said("%(field)s: %(sentence)s", field=_label_said(entry), sentence=entry["sentence"])
            for entry in replan.conflicts
        )
    )
