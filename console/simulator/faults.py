"""Fault switches of the simulator: latency, failures, hangs, update timing and outcomes,
lost answers, the pre-check's answer and the guess rules; global or by id."""

from __future__ import annotations

import threading
from typing import Any

from console.simulator.state import OUTCOMES

FAIL_STATUSES = (500, 502, 503, 504, 429, 417)
FAIL_METHODS = ("GET", "PUT", "POST")
LIST_TOTALS = ("total_count", "count", "none")
DEFAULT_FAIL_STATUS = 503

_NUMBERS = ("latency", "hang", "update_delay", "start_delay", "retry_after", "edge_window")
_COUNTS = ("fail_next", "hang_next", "lose_answer_next")
# documented: SCP's only documented answer; no/yes: a clear verdict (their shape is a guess);
# capacity: the requested workload against the cluster's capacity (a guess at SCP's logic).
PRECHECK_MODES = ("documented", "no", "yes", "capacity")


def faults_parse(body: Any) -> tuple[str | None, dict[str, Any], list[str]]:
    """Split a `POST /_simulator/faults` body into (service id or None, switches, errors)."""
    if not isinstance(body, dict):
        return None, {}, ["body: must be a JSON object"]
    errors: list[str] = []
    switches: dict[str, Any] = {}
    service_id = body.get("service_id")
    if service_id is not None and not isinstance(service_id, str):
        errors.append("service_id: must be a string")
    for key, value in body.items():
        if key == "service_id":
            continue
        # bool is an int in Python, and True seconds or True failures would be a typo.
        is_number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in _NUMBERS:
            if not is_number or value < 0:
                errors.append(f"{key}: must be a number of seconds >= 0")
        elif key in _COUNTS:
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                errors.append(f"{key}: must be a whole number >= 0")
        elif key == "fail_status":
            if value not in FAIL_STATUSES or isinstance(value, bool):
                errors.append(f"fail_status: must be one of {', '.join(map(str, FAIL_STATUSES))}")
        elif key == "list_total":
            if value not in LIST_TOTALS:
                errors.append(f"list_total: must be one of {', '.join(LIST_TOTALS)}")
            elif service_id is not None:
                errors.append("list_total: applies to every call; set it without service_id")
        elif key == "fail_method":
            if value not in FAIL_METHODS:
                errors.append(f"fail_method: must be one of {', '.join(FAIL_METHODS)}")
        elif key == "update_outcome":
            if value not in OUTCOMES:
                errors.append(f"update_outcome: must be one of {', '.join(OUTCOMES)}")
        elif key == "edge_limit":
            if value is not None and (
                not isinstance(value, int) or isinstance(value, bool) or value < 1
            ):
                errors.append("edge_limit: must be a whole number >= 1, or null for none")
            elif service_id is not None:
                errors.append("edge_limit: applies to every call; set it without service_id")
        elif key in ("ignore_size", "guess_rules"):
            if not isinstance(value, bool):
                errors.append(f"{key}: must be true or false")
            elif service_id is not None and key == "guess_rules":
                errors.append("guess_rules: applies to every service; set it without service_id")
        elif key == "precheck":
            if value not in PRECHECK_MODES:
                errors.append(f"precheck: must be one of {', '.join(PRECHECK_MODES)}")
        else:
            errors.append(f"{key}: unknown switch")
            continue
        if key == "edge_window" and service_id is not None:
            errors.append("edge_window: applies to every call; set it without service_id")
        switches[key] = value
    if "hang" in switches and "hang_next" not in switches:
        switches["hang_next"] = 1
    return service_id, switches, errors


class FaultBoard:
    """The switches in force; per-service switches win over global ones for that service's calls."""

    def __init__(self) -> None:
        """Start with no faults."""
        self._lock = threading.Lock()
        self._global: dict[str, Any] = {}
        self._services: dict[str, dict[str, Any]] = {}

    def set(self, switches: dict[str, Any], *, service_id: str | None) -> None:
        """Merge `switches` into the global board, or into `service_id`'s."""
        with self._lock:
            if service_id is None:
                self._global.update(switches)
            else:
                self._services.setdefault(service_id, {}).update(switches)

    def clear(self) -> None:
        """Remove every switch."""
        with self._lock:
            self._global.clear()
            self._services.clear()

    def snapshot(self) -> dict[str, Any]:
        """The switches in force, as `GET /_simulator/faults` shows them."""
        with self._lock:
            return {
                "global": dict(self._global),
                "services": {sid: dict(sw) for sid, sw in self._services.items()},
            }

    def _scopes(self, service_id: str | None) -> list[dict[str, Any]]:
        """The boards that apply to a call, most specific first; caller holds the lock."""
        scopes = [self._services[service_id]] if service_id in self._services else []
        return [*scopes, self._global]

    def value(self, key: str, *, service_id: str | None, default: Any = None) -> Any:
        """A plain switch's value for a call on `service_id` (None for calls not by id)."""
        with self._lock:
            for scope in self._scopes(service_id):
                if key in scope:
                    return scope[key]
            return default

    def take_hang(self, *, service_id: str | None) -> float:
        """Seconds this call must hang before its connection is dropped; 0 when it must not."""
        with self._lock:
            for scope in self._scopes(service_id):
                if scope.get("hang") and scope.get("hang_next", 0) > 0:
                    scope["hang_next"] -= 1
                    return float(scope["hang"])
            return 0.0

    def take_lost_answer(self, *, service_id: str | None) -> bool:
        """Whether this accepted update's answer must be lost, counting it down."""
        with self._lock:
            for scope in self._scopes(service_id):
                if scope.get("lose_answer_next", 0) > 0:
                    scope["lose_answer_next"] -= 1
                    return True
            return False

    def take_failure(self, *, service_id: str | None, method: str = "GET") -> int:
        """The status this call must fail with, counting it down; 0 when it must not fail.

        With `fail_method` set, only calls of that method fail (and count down).
        """
        with self._lock:
            for scope in self._scopes(service_id):
                if scope.get("fail_method") not in (None, method):
                    continue
                if scope.get("fail_next", 0) > 0:
                    scope["fail_next"] -= 1
                    return int(scope.get("fail_status", DEFAULT_FAIL_STATUS))
            return 0
