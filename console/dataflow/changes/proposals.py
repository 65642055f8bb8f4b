"""An edit proposed from a page: moved onto the newest configuration, planned, kept as a draft.

The edit form, the host alias page, "Retry" and "Revert" all propose an edit the same way; the
pages only turn the outcome into a response.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.sessions.backends.base import SessionBase

from console.dataflow.changes.drafts import Draft, draft_save, edits_rebase
from console.dataflow.changes.plan import change_plan
from console.dataflow.models import Service
from console.scp import ServiceConfig


@dataclass(frozen=True)
class Proposal:
    """What a proposed edit came to: a draft to review, or nothing to change."""

    draft: Draft | None  # kept for the review page; None when nothing would change
    # What changed between the configuration opened and the newest one; None when nothing moved.
    meanwhile: dict[str, Any] | None


def draft_propose(
    session: SessionBase,
    *,
    service: Service,
    kind: str,
    opened_revision: int,
    opened_config: dict[str, Any],
    desired: dict[str, Any],
    new_password: str | None = None,
    ticket: str = "",
    reason: str = "",
    tell_meanwhile: bool = True,
) -> Proposal:
    """Only the edits (`desired` against what was opened), on the newest config, as a draft.

    A field the edit did not touch keeps the newest value. No draft is kept when the edits
    change nothing there. `tell_meanwhile` keeps the notice of what moved since with the draft.
    """
    rebased = edits_rebase(
        service=service,
        opened_revision=opened_revision,
        opened_config=opened_config,
        desired=desired,
    )
    plan = change_plan(
        service=service,
        desired=ServiceConfig.from_dict(rebased.desired_config),
        password_changed=bool(new_password),
        base_revision=rebased.base_revision,
        kind=kind,
    )
    if not plan.entries:
        return Proposal(draft=None, meanwhile=rebased.meanwhile)
    draft = draft_save(
        session,
        service_id=plan.service_id,
        kind=plan.kind,
        base_revision=plan.base_revision,
        base_config=plan.base_config,
        desired_config=plan.desired_config,
        new_password=new_password,
        ticket=ticket,
        reason=reason,
        meanwhile=rebased.meanwhile if tell_meanwhile else None,
    )
    return Proposal(draft=draft, meanwhile=rebased.meanwhile)
