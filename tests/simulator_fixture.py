"""Pytest plugin: the `scp_simulator` fixture, a real SCP simulator on a free local port."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.simulator.server import (
    DEMO_ACCESS_KEY,
    DEMO_SECRET_KEY,
    RunningSimulator,
    start_in_thread,
)

# Short enough to keep tests quick, long enough to observe the UPDATING state.
TEST_UPDATE_DELAY = 0.5


class SimulatorControlError(RuntimeError):
    """A control endpoint refused a call: the test used the simulator wrongly."""


class SimulatorHandle:
    """A running simulator: its URL and demo keys, and its control endpoints over HTTP."""

    def __init__(self, running: RunningSimulator) -> None:
        """Wrap a simulator started by `start_in_thread`."""
        self.running = running
        self.url = running.url
        self.state_path: Path = running.state_path
        self.access_key = DEMO_ACCESS_KEY
        self.secret_key = DEMO_SECRET_KEY

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        """Call a control endpoint and return its JSON answer; refusals raise."""
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", errors="replace")
            raise SimulatorControlError(f"{method} {path} -> {exc.code}: {text}") from None

    def requests(self) -> list[dict[str, Any]]:
        """Every /v1 request received since the last clear, oldest first."""
        return self._call("GET", "/_simulator/requests")["requests"]

    def clear_requests(self) -> None:
        """Empty the request log."""
        self._call("DELETE", "/_simulator/requests")

    def applied_puts(self, service_id: str | None = None) -> list[dict[str, Any]]:
        """The logged PUTs the simulator applied (answer delivered or lost), optionally of one id.

        The id is matched against the path's last segment, percent-decoded.
        """
        entries = [e for e in self.requests() if e["method"] == "PUT" and e.get("applied")]
        if service_id is None:
            return entries
        return [
            entry
            for entry in entries
            if urllib.parse.unquote(entry["path"].rstrip("/").rsplit("/", 1)[-1]) == service_id
        ]

    def versions(self) -> list[dict[str, Any]]:
        """The API version list in force (what `GET /` shows, without links)."""
        return self._call("GET", "/_simulator/versions")["versions"]

    def set_versions(self, versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Replace the version list, e.g. [{"id": "v1.0", "status": "DEPRECATED", ...}]."""
        return self._call("POST", "/_simulator/versions", {"versions": versions})["versions"]

    def reset_versions(self) -> list[dict[str, Any]]:
        """Back to the default version list (1.0 SUPPORTED, 1.1 CURRENT)."""
        return self._call("DELETE", "/_simulator/versions")["versions"]

    def fault(self, service_id: str | None = None, **switches: Any) -> dict[str, Any]:
        """Set fault switches, global or for one service; returns the whole board."""
        body = dict(switches)
        if service_id is not None:
            body["service_id"] = service_id
        return self._call("POST", "/_simulator/faults", body)

    def faults(self) -> dict[str, Any]:
        """The fault switches in force."""
        return self._call("GET", "/_simulator/faults")

    def clear_faults(self) -> None:
        """Remove every fault switch."""
        self._call("DELETE", "/_simulator/faults")

    def add_service(self, **fields: Any) -> dict[str, Any]:
        """Create a service from partial fields; returns its API detail."""
        return self._call("POST", "/_simulator/services", fields)

    def service(self, service_id: str) -> dict[str, Any]:
        """One internal service record (with any pending update; never the password)."""
        return self._call("GET", f"/_simulator/services/{service_id}")

    def services(self) -> list[dict[str, Any]]:
        """Every internal service record."""
        return self._call("GET", "/_simulator/services")["services"]

    def set_state(self, service_id: str, state: str) -> dict[str, Any]:
        """Force a service's state (a pending update is dropped)."""
        return self._call("POST", f"/_simulator/services/{service_id}/state", {"state": state})

    def change_in_scp_console(
        self, service_id: str, *, modified_by: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """Change a service as SCP's own console would (update-body fields); returns its detail."""
        body = dict(fields)
        if modified_by is not None:
            body["modified_by"] = modified_by
        return self._call("POST", f"/_simulator/services/{service_id}/config", body)

    def data_flows(self) -> list[dict[str, Any]]:
        """The data flows with their offered versions and cluster capacity."""
        return self._call("GET", "/_simulator/data-flows")["data_flows"]

    def reset(self) -> None:
        """Reseed the demo services, restore the version list, clear faults and the request log."""
        self._call("POST", "/_simulator/reset")


@pytest.fixture
def scp_simulator(tmp_path: Path) -> Iterator[SimulatorHandle]:
    """A simulator on a free port with its own state file, stopped after the test."""
    running = start_in_thread(
        state_path=tmp_path / "simulator" / "state.json", update_delay=TEST_UPDATE_DELAY
    )
    try:
        yield SimulatorHandle(running)
    finally:
        running.stop()
