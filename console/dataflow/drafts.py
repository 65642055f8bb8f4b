"""Edits between the form and the confirm button, kept in the signed-in person's session.

A draft never leaves the server: the new password in it is encrypted, and the review page
shows only that it changed.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from console.dataflow import crypto

SESSION_KEY = "change_drafts"
MAX_DRAFTS = 10


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
) -> Draft:
    """Keep a planned edit for the review page; the oldest drafts give way to new ones."""
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
