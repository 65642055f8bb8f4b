"""Helpers for pipeline tests: plan and submit an edit as the review page would."""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from typing import Any

from console.dataflow.changes.plan import change_plan
from console.dataflow.changes.submit import change_submit
from console.dataflow.models import ChangeRequest, Service
from console.scp import ServiceConfig


def submit_edit(
    service: Service,
    author,
    edit: Callable[[dict[str, Any]], None],
    *,
    reason: str = "test change",
    password: str | None = None,
) -> ChangeRequest:
    """Plan `edit` applied to the service's known config and submit it."""
    service.refresh_from_db()
    desired = copy.deepcopy(service.config)
    edit(desired)
    plan = change_plan(
        service=service,
        desired=ServiceConfig.from_dict(desired),
        password_changed=bool(password),
    )
    return change_submit(plan=plan, author=author, reason=reason, new_password=password)


def wait_until_final(change: ChangeRequest, timeout: float = 30.0) -> ChangeRequest:
    """Poll the row until the worker made the change final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        change.refresh_from_db()
        if change.is_final:
            return change
        time.sleep(0.1)
    events = [str(e) for e in change.events.all()]
    raise AssertionError(f"change still {change.status} after {timeout} s: {events}")


def puts(simulator, service: Service) -> list[dict[str, Any]]:
    """The PUT requests the simulator received for a service."""
    return [
        r
        for r in simulator.requests()
        if r["method"] == "PUT" and r["path"].endswith(service.scp_id)
    ]


def raise_memory(config: dict[str, Any]) -> None:
    config["workloads"]["nifi"]["memory"] = config["workloads"]["nifi"]["memory"] * 2


def add_alias(config: dict[str, Any]) -> None:
    config["host_aliases"].append({"hostname": "metrics.internal.example", "ip": "10.20.0.40"})
