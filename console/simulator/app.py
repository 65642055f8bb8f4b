"""The simulated SCP Data Flow API: one routing table, gateway faults and the request log.

`Simulator.handle` turns one raw request into one response. The /v1 endpoints live in
`endpoints`, signing in `auth`, envelopes in `messages`, the control endpoints in `control` and
HTTP in `wire`.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import unquote

from console.simulator.auth import authenticate
from console.simulator.control import Control
from console.simulator.edge import DEFAULT_WINDOW, EDGE_STATUS, EdgeLimiter, edge_page
from console.simulator.endpoints import Endpoints
from console.simulator.faults import FaultBoard
from console.simulator.landing import landing_page
from console.simulator.messages import (
    ApiError,
    Request,
    Response,
    body_for_log,
    contact_admin,
    gateway_error,
)
from console.simulator.state import Store, iso_ms
from console.simulator.versions import VersionBoard

logger = logging.getLogger("console.simulator")

REQUEST_LOG_LIMIT = 2000
# The routing table of the /v1 API: (method, path pattern, endpoint). The group is the id in the
# path (percent-decoded before use); endpoints marked by-id are the ones faults can target.
_ID = r"([^/]+)"
ROUTES: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("GET", re.compile(r"/v1/data-flow-services()"), "list"),
    ("GET", re.compile(rf"/v1/data-flow-services/data-flows/{_ID}/sub-versions"), "sub_versions"),
    ("GET", re.compile(rf"/v1/data-flow-services/{_ID}"), "detail"),
    ("PUT", re.compile(rf"/v1/data-flow-services/{_ID}"), "update"),
    ("POST", re.compile(rf"/v1/data-flow-services/{_ID}/validate-resources"), "validate"),
)
_BY_SERVICE_ID = ("detail", "update", "validate")


class Simulator:
    """The simulated SCP Data Flow API; one per server, shared by its request threads."""

    def __init__(
        self,
        *,
        store: Store,
        credentials: Mapping[str, str],
        not_enabled: frozenset[str],
        update_delay: float,
        start_delay: float = 0.0,
        clock: Callable[[], float] = time.time,
        stopping: threading.Event | None = None,
        public_url: str = "",
        console_url: str = "",
    ) -> None:
        """Serve `store` to callers holding `credentials` (access key to secret key).

        Keys in `not_enabled` sign correctly but are refused by the gateway, as SCP refuses an
        account without Data Flow in the region. After a 202 the service shows its old state for
        `start_delay` seconds, then UPDATING for `update_delay` seconds (faults can override both).
        With a `public_url` (where browsers reach the simulator) the services' NiFi and Registry
        links lead to the simulator's own stand-in pages, which link back to `console_url`; a
        simulator convenience for demos: without it they take SCP's documented shape.
        """
        self.store = store
        self.credentials = dict(credentials)
        self.not_enabled = not_enabled
        self.update_delay = update_delay
        self.start_delay = start_delay
        self.clock = clock
        self.public_url = public_url
        self.console_url = console_url
        self.stopping = stopping or threading.Event()
        self.faults = FaultBoard()
        self.edge = EdgeLimiter()
        self.versions = VersionBoard(clock=clock)
        self.endpoints = Endpoints(self)
        self.control = Control(self)
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._log_lock = threading.Lock()

    # ---- entry -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """The answer to one request; never raises."""
        try:
            if request.path == "/_simulator" or request.path.startswith("/_simulator/"):
                return self.control.handle(request)
            if request.path.startswith("/v1/"):
                return self._logged(request, self._api_answer)
            if request.path == "/":
                return self._logged(request, self._root)
            if request.path.startswith("/ui/"):
                return self._ui_page(request)
            return Response(404, gateway_error(404, request.path))
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            return contact_admin()

    def _ui_page(self, request: Request) -> Response:
        """A stand-in page behind a service's NiFi or Registry link (not SCP behaviour)."""
        with self.store.lock:
            self.store.updates_settle(self.clock())
            return landing_page(request, self.store.services, console_url=self.console_url)

    # ---- the /v1 API -------------------------------------------------------------------

    def _logged(
        self, request: Request, answer: Callable[[Request], tuple[Response, str, bool]]
    ) -> Response:
        """Answer a call with `answer` and record it in the request log.

        Every PUT's entry says whether the update was `applied` (accepted, answer lost or not).
        """
        response, verdict, applied = answer(request)
        host = request.header("Host") or ""
        entry = {
            "time": iso_ms(self.clock()),
            "method": request.method,
            "url": "http://" + host + request.target,
            "path": request.path,
            "query": request.params,
            "headers": dict(request.headers),
            "body": body_for_log(request.body),
            "status": response.status,
            "verdict": verdict,
        }
        if request.method == "PUT":
            entry["applied"] = applied
        with self._log_lock:
            self._log.append(entry)
        return response

    def log_snapshot(self) -> list[dict[str, Any]]:
        """Every logged /v1 and root call since the last clear, oldest first."""
        with self._log_lock:
            return copy.deepcopy(list(self._log))

    def log_clear(self) -> None:
        """Empty the request log."""
        with self._log_lock:
            self._log.clear()

    def _gateway_faults(
        self, request: Request, service_id: str | None
    ) -> tuple[Response, str] | None:
        """The edge's limit, an injected latency, hang or failure: before SCP sees the call."""
        limit = self.faults.value("edge_limit", service_id=None, default=None)
        window = self.faults.value("edge_window", service_id=None, default=DEFAULT_WINDOW)
        if not self.edge.admit(now=self.clock(), limit=limit, window=float(window)):
            return Response(EDGE_STATUS, edge_page()), "edge: request rejected (throttled)"
        latency = self.faults.value("latency", service_id=service_id, default=0)
        if latency:
            self.stopping.wait(latency)
        hang = self.faults.take_hang(service_id=service_id)
        if hang:
            self.stopping.wait(hang)
            return Response(0, drop=True), "injected hang"
        failure = self.faults.take_failure(service_id=service_id, method=request.method)
        if failure:
            return self._failure(failure, request.path, service_id), f"injected {failure}"
        return None

    def _root(self, request: Request) -> tuple[Response, str, bool]:
        """`GET /`: the product's version list (SCP_API.md §3).

        Guess: the documentation does not say whether the root needs a signature; it is answered
        without one, and a signed call is answered too (its signature only shows in the verdict).
        """
        injected = self._gateway_faults(request, None)
        if injected:
            return *injected, False
        if request.method != "GET":
            return Response(404, gateway_error(404, request.path)), "unknown path", False
        signed = "unsigned"
        if request.header("Scp-Signature"):
            refusal = self._authenticate(request)
            signed = f"signed, {refusal[1]} (not enforced)" if refusal else "signed"
        base_url = "http://" + (request.header("Host") or "")
        return Response(200, self.versions.document(base_url)), f"version list ({signed})", False

    def _api_answer(self, request: Request) -> tuple[Response, str, bool]:
        """The response to an API call, the verdict the request log shows, and whether applied."""
        route = _route(request.method, request.path)
        service_id = route[1] if route and route[0] in _BY_SERVICE_ID else None

        injected = self._gateway_faults(request, service_id)
        if injected:
            return *injected, False
        if route is None:
            return Response(404, gateway_error(404, request.path)), "unknown path", False
        refusal = self._authenticate(request)
        if refusal:
            return *refusal, False
        problem = self.versions.check_header(request.header("Scp-Api-Version"))
        if problem:
            error = ApiError(406, "NoSuchVersion", problem, "unsupported api version")
            return error.response(), error.verdict, False

        handler = {
            "list": self.endpoints.list_services,
            "detail": self.endpoints.detail,
            "update": self.endpoints.update,
            "validate": self.endpoints.validate_resources,
            "sub_versions": self.endpoints.sub_versions,
        }[route[0]]
        try:
            with self.store.lock:
                self.store.updates_settle(self.clock())
                response = handler(request, route[1])
        except ApiError as error:
            return error.response(), error.verdict, False
        if route[0] != "update":
            return response, "ok", False
        if self.faults.take_lost_answer(service_id=service_id):
            # Applied exactly like any accepted update; only the answer never reaches the caller.
            return Response(0, drop=True), "applied, answer lost", True
        return response, "ok", True

    def _failure(self, status: int, path: str, service_id: str | None) -> Response:
        """An injected failure: SCP's service envelope for a 500, the gateway's for the rest.

        A 429 carries `Retry-After` (the `retry_after` switch, 1 s by default); other statuses
        only when the switch is set.
        """
        retry_after = self.faults.value("retry_after", service_id=service_id, default=None)
        if retry_after is None and status == 429:
            retry_after = 1
        headers = {"Retry-After": f"{retry_after:g}"} if retry_after is not None else {}
        if status == EDGE_STATUS:
            return Response(status, edge_page(), headers)
        if status == 500:
            response = contact_admin()
            response.headers.update(headers)
            return response
        return Response(status, gateway_error(status, path), headers)

    def _authenticate(self, request: Request) -> tuple[Response, str] | None:
        """None when the call is signed correctly by an enabled key, else the refusal."""
        return authenticate(
            request,
            credentials=self.credentials,
            not_enabled=self.not_enabled,
            now=self.clock(),
        )


def _route(method: str, path: str) -> tuple[str, str] | None:
    """(endpoint, id from the path, percent-decoded) for a known API call, else None."""
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return endpoint, unquote(match.group(1))
    return None
