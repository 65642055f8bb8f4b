"""Fault switches of the simulator: latency, failures, hangs, update timing and outcomes,
lost answers, the pre-check's answer and the guess rules; global or by id."""

from __future__ import annotations

import threading
from collections.abc import Callable
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
        if key not in _CHECKS:
            errors.append(f"{key}: unknown switch")
            continue
        errors.extend(_switch_errors(key, value, scoped=service_id is not None))
        switches[key] = value
    if "hang" in switches and "hang_next" not in switches:
        switches["hang_next"] = 1
    return service_id, switches, errors


def _switch_errors(key: str, value: Any, *, scoped: bool) -> list[str]:
    """What is wrong with one switch's value, and with setting it for one service only."""
    problem = _CHECKS[key](key, value)
    errors = [problem] if problem else []
    # edge_window's scope is told even next to a bad value; the others' only for a good one.
    if scoped and key in _GLOBAL_ONLY and (not errors or key == "edge_window"):
        errors.append(f"{key}: {_GLOBAL_ONLY[key]}; set it without service_id")
    return errors


def _whole(value: Any) -> bool:
    # bool is an int in Python, and True seconds or True failures would be a typo.
    return isinstance(value, int) and not isinstance(value, bool)


def _seconds(key: str, value: Any) -> str | None:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if not is_number or value < 0:
        return f"{key}: must be a number of seconds >= 0"
    return None


def _count(key: str, value: Any) -> str | None:
    if not _whole(value) or value < 0:
        return f"{key}: must be a whole number >= 0"
    return None


def _edge_limit(key: str, value: Any) -> str | None:
    if value is not None and (not _whole(value) or value < 1):
        return "edge_limit: must be a whole number >= 1, or null for none"
    return None


def _flag(key: str, value: Any) -> str | None:
    if not isinstance(value, bool):
        return f"{key}: must be true or false"
    return None


def _one_of(options: tuple[Any, ...]) -> Callable[[str, Any], str | None]:
    """A check that the value is one of `options` (never a bool standing for 1 or 0)."""

    def check(key: str, value: Any) -> str | None:
        if value in options and not isinstance(value, bool):
            return None
        return f"{key}: must be one of {', '.join(map(str, options))}"

    return check


_CHECKS: dict[str, Callable[[str, Any], str | None]] = {
    **dict.fromkeys(_NUMBERS, _seconds),
    **dict.fromkeys(_COUNTS, _count),
    "fail_status": _one_of(FAIL_STATUSES),
    "list_total": _one_of(LIST_TOTALS),
    "fail_method": _one_of(FAIL_METHODS),
    "update_outcome": _one_of(OUTCOMES),
    "edge_limit": _edge_limit,
    "ignore_size": _flag,
    "guess_rules": _flag,
    "precheck": _one_of(PRECHECK_MODES),
}
# Switches that hold for every call (or service), never for one service's calls.
_GLOBAL_ONLY = {
    "list_total": "applies to every call",
    "edge_limit": "applies to every call",
    "guess_rules": "applies to every service",
    "edge_window": "applies to every call",
}


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
