"""The simulator's data flows and services, kept in one JSON file that outlives a restart."""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from console.simulator import rules, seed

FILE_FORMAT = 1

STATES = (
    "ACTIVE",
    "CREATING",
    "RUNNING",
    "ERROR",
    "TERMINATING",
    "DELETED",
    "UPDATING",
    "STOPPED",
    "STARTING",
    "STOPPING",
    "RESTARTING",
    "TERMINATED",
    "EDITING",
    "DELETING",
    "UNDEPLOYED",
)
BUSY_STATES = ("UPDATING", "EDITING")
OUTCOMES = ("succeed", "error", "partial")


class StateError(Exception):
    """The state file exists but does not hold simulator state."""


def iso_ms(epoch_seconds: float) -> str:
    """SCP's timestamp form: UTC with milliseconds and a `Z`, e.g. 2026-02-11T06:41:25.347Z."""
    moment = datetime.fromtimestamp(epoch_seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class Store:
    """Data flows and services in memory, saved to `path` after every change.

    Callers hold `lock` around every read and write: request threads share one store.
    """

    def __init__(self, path: Path) -> None:
        """Load `path`, or seed the demo data and create the file when there is none."""
        self.path = Path(path)
        self.lock = threading.RLock()
        self.data_flows: dict[str, dict[str, Any]] = {}
        self.services: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            self._load()
        else:
            self.reset()

    def reset(self) -> None:
        """Replace everything with the seeded demo data."""
        with self.lock:
            self.data_flows = {flow["data_flow_id"]: flow for flow in seed.data_flows()}
            self.services = {svc["data_flow_service_id"]: svc for svc in seed.services()}
            self.save()

    def save(self) -> None:
        """Write the state atomically: a reader or a crash never sees half a file."""
        with self.lock:
            payload = {
                "format": FILE_FORMAT,
                "data_flows": list(self.data_flows.values()),
                "services": list(self.services.values()),
            }
            text = json.dumps(payload, ensure_ascii=False, indent=2)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.path.parent, prefix=".state-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            Path(temp_name).unlink(missing_ok=True)
            raise

    def _load(self) -> None:
        """Read the file written by `save`."""
        try:
            payload = json.loads(self.path.read_text(encoding="utf-8"))
            if payload.get("format") != FILE_FORMAT:
                raise ValueError(f"unknown format {payload.get('format')!r}")
            self.data_flows = {flow["data_flow_id"]: flow for flow in payload["data_flows"]}
            self.services = {svc["data_flow_service_id"]: svc for svc in payload["services"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise StateError(
                f"{self.path} is not simulator state ({exc}); delete it or start with --reset"
            ) from exc

    def data_flow_for(self, service: dict[str, Any]) -> dict[str, Any]:
        """The data flow a service belongs to."""
        return self.data_flows[service["data_flow_id"]]

    def allowed_versions(self, service: dict[str, Any]) -> dict[str, set[str]]:
        """Per component: the version it runs now and the one its data flow offers."""
        offered = self.data_flow_for(service)["versions"]
        running = service["config"]["service_workload"]
        return {
            component: {running[component]["version"], offered[key]}
            for component, key in rules.SUB_VERSION_KEYS.items()
        }

    def service_add(self, service: dict[str, Any]) -> None:
        """Store a new service record."""
        with self.lock:
            self.services[service["data_flow_service_id"]] = service
            self.save()

    def update_accept(
        self,
        service_id: str,
        *,
        config: dict[str, Any],
        outcome: str,
        delay: float,
        now: float,
        start_delay: float = 0.0,
    ) -> dict[str, Any]:
        """Accept an update of `config`; return the service.

        For `start_delay` seconds the service shows exactly what it showed before (state, flags,
        configuration); then UPDATING for `delay` seconds; then the outcome. A pending update
        that has not started yet is replaced.
        """
        with self.lock:
            service = self.services[service_id]
            previous = service.get("pending")
            previous_state = previous["previous_state"] if previous else service["state"]
            service["pending"] = {
                "config": config,
                "outcome": outcome,
                "accepted_at": now,
                "starts_at": now + start_delay,
                "due_at": now + start_delay + delay,
                "previous_state": previous_state,
                "started": False,
            }
            self._update_start(service, now)
            self.save()
            return service

    @staticmethod
    def _update_start(service: dict[str, Any], now: float) -> bool:
        """Show a pending update as UPDATING once its start has come; True when it did so now."""
        pending = service.get("pending")
        # Records written before start delays existed have no `started`: they are running.
        if not pending or pending.get("started", True) or pending["starts_at"] > now:
            return False
        pending["started"] = True
        service["state"] = "UPDATING"
        service["modified_dt"] = iso_ms(pending["starts_at"])
        return True

    def updates_settle(self, now: float) -> None:
        """Start and finish every pending update whose time has come, as its outcome says."""
        with self.lock:
            changed = False
            for service in self.services.values():
                changed = self._update_start(service, now) or changed
                pending = service.get("pending")
                if pending and pending["due_at"] <= now:
                    _update_finish(service, pending)
                    changed = True
            if changed:
                self.save()

    def config_set(
        self, service_id: str, *, config: dict[str, Any], modified_by: str | None, now: float
    ) -> dict[str, Any]:
        """Change a service's configuration at once, as SCP's own console does; `modified_dt` moves.

        Guess: SCP's detail names who changed the service last (`modified_by`, not documented);
        it is set only when given, and an update accepted through the API clears it.
        """
        with self.lock:
            service = self.services[service_id]
            service["config"] = config
            service["modified_dt"] = iso_ms(now)
            service.pop("modified_by", None)
            if modified_by:
                service["modified_by"] = modified_by
            self.save()
            return service

    def state_force(self, service_id: str, state: str, *, now: float) -> dict[str, Any]:
        """Set a service's state; a pending update is dropped, as if SCP had abandoned it."""
        with self.lock:
            service = self.services[service_id]
            service["state"] = state
            service["pending"] = None
            service["modified_dt"] = iso_ms(now)
            self.save()
            return service


def _update_finish(service: dict[str, Any], pending: dict[str, Any]) -> None:
    """Apply a pending update the way its outcome says, then clear it."""
    outcome = pending["outcome"]
    current = service["config"]
    requested = copy.deepcopy(pending["config"])
    if outcome == "error":
        # The cluster refused the change: nothing applied, and SCP flags the failed request.
        service["state"] = "ERROR"
        service["cluster_request_failed"] = True
    else:
        if outcome == "partial":
            # Part of the change did not reach the cluster: the workloads when they changed,
            # otherwise the host alias list, so that a comparison always finds a difference.
            if requested["service_workload"] != current["service_workload"]:
                requested["service_workload"] = copy.deepcopy(current["service_workload"])
            else:
                requested["host_alias"]["host_alias_list"] = copy.deepcopy(
                    current["host_alias"]["host_alias_list"]
                )
        service["config"] = requested
        service["state"] = "RUNNING"
        service["cluster_request_failed"] = False
        service["image_id"] = f"dataflow-nifi-{requested['service_workload']['nifi']['version']}"
    service["modified_dt"] = iso_ms(pending["due_at"])
    service.pop("modified_by", None)  # set by a change in SCP's own console, now superseded
    service["pending"] = None
