"""Edits between the form and the confirm button, kept in the signed-in person's session.

A draft never leaves the server: the new password in it is encrypted, and the review page
shows only that it changed.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from console.dataflow.changes.configdiff import config_apply, config_diff
from console.dataflow.connections import crypto
from console.dataflow.models import ChangeRequest, ConfigRevision, Service

SESSION_KEY = "change_drafts"
MAX_DRAFTS = 10
OUTSIDE = gettext_noop("outside the console, seen by a refresh from SCP")  # shown translated
# PositiveIntegerField's range on every database Django supports.
MAX_REVISION = 2_147_483_647


@dataclass
class Draft:
    """A planned edit of one service, waiting for review and confirmation."""

    id: str
    service_id: int
    kind: str
    base_revision: int
    base_config: dict[str, Any]
    desired_config: dict[str, Any]
    password_encrypted: str = ""
    precheck: dict[str, Any] | None = None
    ticket: str = ""
    reason: str = ""
    # What changed between the configuration the person opened and the one the edits now
    # sit on (see `meanwhile_notice`); None when nothing moved.
    meanwhile: dict[str, Any] | None = None

    @property
    def password_changed(self) -> bool:
        return bool(self.password_encrypted)

    def new_password(self) -> str | None:
        return crypto.decrypt(self.password_encrypted) or None


def draft_save(
    session: SessionBase,
    *,
    service_id: int,
    kind: str,
    base_revision: int,
    base_config: dict[str, Any],
    desired_config: dict[str, Any],
    new_password: str | None,
    ticket: str = "",
    reason: str = "",
    meanwhile: dict[str, Any] | None = None,
) -> Draft:
    """Keep a planned edit for the review page; the oldest drafts give way to new ones.

    `base_config` is the configuration the edits are relative to: `desired_config` differs
    from it by exactly the person's edits.
    """
    draft = Draft(
        id=uuid.uuid4().hex,
        service_id=service_id,
        kind=kind,
        base_revision=base_revision,
        base_config=base_config,
        desired_config=desired_config,
        password_encrypted=crypto.encrypt(new_password or ""),
        ticket=ticket,
        reason=reason,
        meanwhile=meanwhile,
    )
    drafts = dict(session.get(SESSION_KEY, {}))
    drafts[draft.id] = asdict(draft)
    while len(drafts) > MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    session[SESSION_KEY] = drafts
    return draft


def draft_update(session: SessionBase, draft: Draft) -> None:
    """Store a changed draft (e.g. with its pre-check verdict)."""
    drafts = dict(session.get(SESSION_KEY, {}))
    if draft.id in drafts:
        drafts[draft.id] = asdict(draft)
        session[SESSION_KEY] = drafts


def draft_load(session: SessionBase, draft_id: str, *, service_id: int) -> Draft | None:
    """The draft of this service with this id, or None (expired, foreign or malformed)."""
    data = session.get(SESSION_KEY, {}).get(draft_id)
    if not isinstance(data, dict) or data.get("service_id") != service_id:
        return None
    try:
        return Draft(**data)
    except TypeError:
        return None


def draft_discard(session: SessionBase, draft_id: str) -> None:
    """Forget a draft once it became a change."""
    drafts = dict(session.get(SESSION_KEY, {}))
    if drafts.pop(draft_id, None) is not None:
        session[SESSION_KEY] = drafts


# --- Edits, not snapshots -----------------------------------------------------------------


def revision_config(*, service: Service, revision: int) -> dict[str, Any] | None:
    """The configuration a service had at `revision`; None when that revision is not on record."""
    if revision == service.config_revision:
        return service.config
    if not 1 <= revision <= MAX_REVISION:
        return None
    row = ConfigRevision.objects.filter(service=service, revision=revision).first()
    return row.config if row is not None else None


@dataclass(frozen=True)
class Rebased:
    """A person's edits moved onto the service's newest configuration."""

    base_revision: int
    base_config: dict[str, Any]
    desired_config: dict[str, Any]
    meanwhile: dict[str, Any] | None


def edits_rebase(
    *,
    service: Service,
    opened_revision: int,
    opened_config: dict[str, Any],
    desired: dict[str, Any],
) -> Rebased:
    """Only what the person changed (`desired` against what they opened), on the newest config.

    A field the person did not touch keeps the newest value, so a colleague's change made
    meanwhile is never reverted by a form opened before it.
    """
    if opened_revision == service.config_revision:
        return Rebased(service.config_revision, service.config, desired, None)
    edited = {entry["field"] for entry in config_diff(opened_config, desired)}
    return Rebased(
        base_revision=service.config_revision,
        base_config=service.config,
        desired_config=config_apply(service.config, opened_config, desired),
        meanwhile=meanwhile_notice(
            service=service,
            since_revision=opened_revision,
            since_config=opened_config,
            edited=edited,
        ),
    )


def meanwhile_notice(
    *,
    service: Service,
    since_revision: int,
    since_config: dict[str, Any],
    edited: set[str],
) -> dict[str, Any]:
    """What changed from `since_config` to the service's newest config, field by field, by whom.

    Authors are those of this service's console changes that finished after the older
    revision was observed and asked for that field; anything else was changed outside the
    console and seen by a refresh from SCP. `both` marks fields the person edited too.
    """
    entries = config_diff(since_config, service.config)
    observed_at = (
        ConfigRevision.objects.filter(service=service, revision=since_revision)
        .values_list("observed_at", flat=True)
        .first()
    )
    changes = _changes_finished_since(service, observed_at) if observed_at else []
    outside = _(OUTSIDE) if observed_at else ""
    authors: list[str] = []
    for entry in entries:
        by = _changes_of_field(changes, entry["field"])
        authors = list(dict.fromkeys([*authors, *(change.author_name for change in by)]))
        entry["by"] = _changed_by(by) or outside
        entry["both"] = entry["field"] in edited
    return {
        "from_revision": since_revision,
        "to_revision": service.config_revision,
        "entries": entries,
        "authors": authors,
        "outside": any(entry["by"] == _(OUTSIDE) for entry in entries),
        "known": observed_at is not None,
        "both": [entry["label"] for entry in entries if entry["both"]],
    }


def _changes_of_field(changes: list[ChangeRequest], field: str) -> list[ChangeRequest]:
    """The changes that asked for `field`."""
    return [c for c in changes if field in {part.get("field") for part in c.diff or ()}]


def _changed_by(changes: list[ChangeRequest]) -> str:
    """Who changed a field, with their change numbers ("" when no console change did)."""
    return ", ".join(
        dict.fromkeys(
            _("%(author)s (change #%(number)s)")
            % {"author": change.author_name, "number": change.pk}
            for change in changes
        )
    )


def _changes_finished_since(service: Service, since: datetime) -> list[ChangeRequest]:
    return list(
        service.changes.filter(finished_at__gt=since, submitted_at__isnull=False)
        .exclude(status=ChangeRequest.Status.CANCELLED)
        .order_by("finished_at", "pk")
    )


def draft_rebase(session: SessionBase, draft: Draft, *, service: Service) -> Draft:
    """The draft's edits moved onto the service's newest configuration, stored and returned.

    Used when the configuration moved after the review opened: nothing was sent, and the
    person reviews only their own edits again, with a notice of what changed meanwhile.
    """
    if draft.base_revision == service.config_revision:
        return draft
    rebased = edits_rebase(
        service=service,
        opened_revision=draft.base_revision,
        opened_config=draft.base_config,
        desired=draft.desired_config,
    )
    draft = replace(
        draft,
        base_revision=rebased.base_revision,
        base_config=rebased.base_config,
        desired_config=rebased.desired_config,
        meanwhile=rebased.meanwhile,
        precheck=None,  # the workloads it judged may have moved
    )
    draft_update(session, draft)
    return draft
