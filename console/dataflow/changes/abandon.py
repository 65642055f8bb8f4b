"""Abandoning a stuck change: a person reads SCP first, then gives the change up."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from console.dataflow.changes.configdiff import config_diff, edits_held
from console.dataflow.changes.lifecycle import change_move, change_stuck
from console.dataflow.connections.clients import (
    PAGE_WAIT_SECONDS,
    ConnectionUnavailable,
    scp_client_for,
)
from console.dataflow.models import WITH_SCP, ChangeRequest
from console.dataflow.words.events import said
from console.dataflow.words.scp_text import scp_error_sentence
from console.scp import ScpError

Status = ChangeRequest.Status


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
