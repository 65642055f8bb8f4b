"""The simulated SCP Data Flow API: one routing table, the endpoints, faults and the request log.

`Simulator.handle` turns one raw request into one response. Signing lives in `auth`, envelopes
in `messages`, the control endpoints in `control` and HTTP in `wire`.
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
from urllib.parse import parse_qs, unquote

from console.simulator import rules
from console.simulator.auth import authenticate
from console.simulator.control import Control
from console.simulator.edge import DEFAULT_WINDOW, EDGE_STATUS, EdgeLimiter, edge_page
from console.simulator.faults import FaultBoard
from console.simulator.messages import (
    ApiError,
    Request,
    Response,
    body_for_log,
    contact_admin,
    gateway_error,
    json_parse,
    validation_error,
)
from console.simulator.state import BUSY_STATES, STATES, Store, iso_ms
from console.simulator.versions import VersionBoard

logger = logging.getLogger("console.simulator")

LIST_MAX_SIZE = 1000
IGNORED_SIZE = 10
REQUEST_LOG_LIMIT = 2000
LIST_FIELDS = (
    "data_flow_service_id",
    "data_flow_service_name",
    "data_flow_id",
    "data_flow_name",
    "cluster_id",
    "cluster_name",
    "state",
    "version",
    "created_by",
    "created_dt",
    "modified_dt",
)

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
_WHOLE = re.compile(r"[0-9]{1,9}")


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
    ) -> None:
        """Serve `store` to callers holding `credentials` (access key to secret key).

        Keys in `not_enabled` sign correctly but are refused by the gateway, as SCP refuses an
        account without Data Flow in the region. After a 202 the service shows its old state for
        `start_delay` seconds, then UPDATING for `update_delay` seconds (faults can override both).
        """
        self.store = store
        self.credentials = dict(credentials)
        self.not_enabled = not_enabled
        self.update_delay = update_delay
        self.start_delay = start_delay
        self.clock = clock
        self.stopping = stopping or threading.Event()
        self.faults = FaultBoard()
        self.edge = EdgeLimiter()
        self.versions = VersionBoard(clock=clock)
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
            return Response(404, gateway_error(404, request.path))
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            return contact_admin()

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
            "query": {key: values[-1] for key, values in self._query(request).items()},
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
            "list": self._list,
            "detail": self._detail,
            "update": self._update,
            "validate": self._validate_resources,
            "sub_versions": self._sub_versions,
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

    @staticmethod
    def _query(request: Request) -> dict[str, list[str]]:
        """The decoded query parameters (UTF-8 percent-encoding, as SCP decodes it)."""
        return parse_qs(request.query, keep_blank_values=True)

    def _service(self, service_id: str) -> dict[str, Any]:
        """The service with this opaque id; SCP answers an unknown id with 400, not 404."""
        service = self.store.services.get(service_id)
        if service is None:
            raise validation_error(
                [f"data_flow_service_id: no data flow service {service_id}"], "unknown service"
            )
        return service

    def _body(self, request: Request) -> Any:
        """The request body as JSON; anything else is SCP's 400."""
        try:
            return json_parse(request.body)
        except ValueError as exc:
            raise validation_error([f"body: not valid JSON ({exc})"], "invalid json") from None

    def _list(self, request: Request, _: str) -> Response:
        """`GET /v1/data-flow-services`: filtered, sorted, paged list items."""
        params = {key: values[-1] for key, values in self._query(request).items()}
        errors: list[str] = []
        page = _whole(params.get("page", "0"), "page", 0, None, errors)
        size = _whole(params.get("size", "20"), "size", 1, LIST_MAX_SIZE, errors)
        sort_field, _, direction = params.get("sort", "created_dt:desc").partition(":")
        direction = direction.lower() or "asc"
        if sort_field not in LIST_FIELDS or direction not in ("asc", "desc"):
            errors.append(
                f"sort: must be field:asc or field:desc with a field of {', '.join(LIST_FIELDS)}; "
                f"got {params.get('sort')!r}"
            )
        state = params.get("state", "").strip().upper()
        if state and state not in STATES:
            errors.append(f"state: must be one of {', '.join(STATES)}; got {params['state']!r}")
        if errors:
            raise validation_error(errors, "invalid list parameters")

        items = [self._list_item(service) for service in self.store.services.values()]
        name = params.get("data_flow_service_name", "").casefold()
        flow_name = params.get("data_flow_name", "")
        created_by = params.get("created_by", "")
        items = [
            item
            for item in items
            if (not state or item["state"] == state)
            and (not name or name in item["data_flow_service_name"].casefold())
            and (not flow_name or item["data_flow_name"] == flow_name)
            and (not created_by or item["created_by"] == created_by)
        ]
        items.sort(key=lambda item: item["data_flow_service_id"])
        items.sort(key=lambda item: item[sort_field], reverse=direction == "desc")
        if self.faults.value("ignore_size", service_id=None, default=False):
            # Some SCP list endpoints ignore `size`; clients must page until total_count.
            size = IGNORED_SIZE
        start = page * size
        body: dict[str, Any] = {"contents": items[start : start + size]}
        # The Data Flow list's total field was not found documented: SCP v2 lists mostly say
        # `count`, a few `total_count` (Samsung's SDK models, SCP_API.md §8). Switchable.
        total_field = self.faults.value("list_total", service_id=None, default="total_count")
        if total_field != "none":
            body[total_field] = len(items)
        return Response(200, body)

    def _list_item(self, service: dict[str, Any]) -> dict[str, Any]:
        """A service as the list shows it."""
        flow = self.store.data_flow_for(service)
        return {
            "data_flow_service_id": service["data_flow_service_id"],
            "data_flow_service_name": service["data_flow_service_name"],
            "data_flow_id": flow["data_flow_id"],
            "data_flow_name": flow["data_flow_name"],
            "cluster_id": flow["cluster_id"],
            "cluster_name": flow["cluster_name"],
            "state": service["state"],
            "version": service["config"]["service_workload"]["nifi"]["version"],
            "created_by": service["created_by"],
            "created_dt": service["created_dt"],
            "modified_dt": service["modified_dt"],
        }

    def _detail(self, request: Request, service_id: str) -> Response:
        """`GET /v1/data-flow-services/{id}`: the live configuration, never the password."""
        return Response(200, self.detail_body(self._service(service_id)))

    def detail_body(self, service: dict[str, Any]) -> dict[str, Any]:
        """The detail of a service: typed ports, workloads as an object, plus `account_id`."""
        body = self._service_body(service, service["config"], state=service["state"])
        body["account_id"] = service["config"]["account_id"]
        if service.get("modified_by"):
            # Guess: not in SCP's documented detail; shown after a change in SCP's own console.
            body["modified_by"] = service["modified_by"]
        return body

    def _service_body(
        self, service: dict[str, Any], config: dict[str, Any], *, state: str
    ) -> dict[str, Any]:
        """The fields of `DataFlowServiceUpdateResponse` for `service` showing `config`."""
        flow = self.store.data_flow_for(service)
        name = service["data_flow_service_name"]
        host = f"{name}.{config['domain']}.dataflow.test"
        workload = config["service_workload"]
        return {
            "account": {"account_id": config["account_id"], "account_password": ""},
            "cluster_id": flow["cluster_id"],
            "cluster_name": flow["cluster_name"],
            "cluster_permission": {},
            "cluster_request_failed": service["cluster_request_failed"],
            "created_dt": service["created_dt"],
            "data_flow_id": flow["data_flow_id"],
            "data_flow_name": flow["data_flow_name"],
            "data_flow_service_id": service["data_flow_service_id"],
            "data_flow_service_name": name,
            "description": config["description"],
            "domain": config["domain"],
            "host_alias": copy.deepcopy(config["host_alias"]),
            "host_file_registry": "",
            "hosts_file": rules.hosts_file_render(config["host_alias"]),
            "http_port": service["http_port"],
            "https_port": service["https_port"],
            "image_id": service["image_id"],
            "ingress_class_name": service["ingress_class_name"],
            "instance_id": service["instance_id"],
            "modified_dt": service["modified_dt"],
            "namespace_name": service["namespace_name"],
            "node_selector": config["node_selector"],
            "service_workload": copy.deepcopy(workload),
            "state": state,
            "storage_class_name": service["storage_class_name"],
            "version": workload["nifi"]["version"],
            "web_url_nifi": f"https://{host}/nifi/",
            "web_url_registry": f"https://{host}/nifi-registry/",
        }

    def _guess_rules(self) -> bool:
        """Whether the rules that are only guesses apply (off unless switched on)."""
        return bool(self.faults.value("guess_rules", service_id=None, default=False))

    def _update(self, request: Request, service_id: str) -> Response:
        """`PUT /v1/data-flow-services/{id}`: validate, accept as pending, answer 202."""
        service = self._service(service_id)
        body = self._body(request)
        errors = rules.update_validate(
            body,
            held=service["config"],
            allowed_versions=self.store.allowed_versions(service),
            guess_rules=self._guess_rules(),
        )
        if errors:
            raise validation_error(errors)
        # Guess: during the start window the service looks idle (its old state), so a PUT then
        # is accepted and replaces the update that has not started; SCP may do otherwise.
        if service["state"] in BUSY_STATES:
            raise validation_error(
                [f"service is being updated (state {service['state']}); try again when it is done"],
                "service busy",
            )
        config = rules.update_merge(service["config"], body)
        delay = self.faults.value("update_delay", service_id=service_id, default=None)
        start = self.faults.value("start_delay", service_id=service_id, default=None)
        outcome = self.faults.value("update_outcome", service_id=service_id, default="succeed")
        self.store.update_accept(
            service_id,
            config=config,
            outcome=outcome,
            delay=self.update_delay if delay is None else float(delay),
            start_delay=self.start_delay if start is None else float(start),
            now=self.clock(),
        )
        # Guess: the 202 carries the state a GET would show at this moment (the old one during a
        # start delay) with the requested configuration.
        answer = self._service_body(service, config, state=service["state"])
        # The quirks of SCP's documented 202 example, which clients must tolerate.
        answer["service_workload"] = ""
        answer["http_port"] = str(service["http_port"])
        answer["https_port"] = str(service["https_port"])
        sent_password = body.get("account", {}).get("account_password")
        answer["account"]["account_password"] = sent_password or ""
        return Response(202, answer)

    def _validate_resources(self, request: Request, service_id: str) -> Response:
        """`POST .../validate-resources`: the pre-check, answered as the `precheck` switch says."""
        service = self._service(service_id)
        body = self._body(request)
        if not isinstance(body, dict):
            raise validation_error(["body: must be a JSON object"])
        errors = [f"{key}: unknown field" for key in body if key != "service_workload"]
        if "service_workload" not in body:
            errors.append("service_workload: required")
        else:
            errors += rules.workload_errors(
                body["service_workload"],
                held=service["config"]["service_workload"],
                allowed_versions=self.store.allowed_versions(service),
                guess_rules=self._guess_rules(),
            )
        if errors:
            raise validation_error(errors)
        mode = self.faults.value("precheck", service_id=service_id, default="documented")
        if mode == "documented":
            # The only answer SCP documents; what its fields mean is not documented.
            return Response(200, {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": ""})
        if mode == "no":
            # Guess: the shape of a clear "no".
            return Response(
                200,
                {
                    "cpu": "CPU",
                    "err_code": "NotEnoughResource",
                    "memory": "Memory",
                    "result": "false",
                },
            )
        if mode == "yes":
            # Guess: the shape of a clear "yes".
            return Response(
                200, {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": "true"}
            )
        # Guess: SCP compares the requested workload with the cluster's capacity. Other tenants
        # are not modelled, so that the answer depends on the request alone.
        workload = rules.workload_merge(
            service["config"]["service_workload"], body["service_workload"]
        )
        cpu = sum(int(c["cpu"]) * int(c["replica"]) for c in workload.values())
        memory = sum(int(c["memory"]) * int(c["replica"]) for c in workload.values())
        capacity = self.store.data_flow_for(service)["capacity"]
        fits = cpu <= capacity["cpu"] and memory <= capacity["memory"]
        return Response(
            200,
            {
                "result": fits,
                "err_code": "" if fits else "InsufficientResources",
                "cpu": str(capacity["cpu"]),
                "memory": str(capacity["memory"]),
            },
        )

    def _sub_versions(self, request: Request, data_flow_id: str) -> Response:
        """`GET .../data-flows/{id}/sub-versions`: the versions a data flow offers."""
        flow = self.store.data_flows.get(data_flow_id)
        if flow is None:
            raise validation_error(
                [f"data_flow_id: no data flow {data_flow_id!r}"], "unknown data flow"
            )
        count = sum(1 for s in self.store.services.values() if s["data_flow_id"] == data_flow_id)
        return Response(200, {"data_flow_service_count": count, "versions": dict(flow["versions"])})


def _route(method: str, path: str) -> tuple[str, str] | None:
    """(endpoint, id from the path, percent-decoded) for a known API call, else None."""
    for route_method, pattern, endpoint in ROUTES:
        match = pattern.fullmatch(path)
        if match and method == route_method:
            return endpoint, unquote(match.group(1))
    return None


def _whole(raw: str, name: str, low: int, high: int | None, errors: list[str]) -> int:
    """A whole-number query parameter within [low, high]; records an error and returns 0 if not."""
    if _WHOLE.fullmatch(raw) and int(raw) >= low and (high is None or int(raw) <= high):
        return int(raw)
    upper = f" and at most {high}" if high is not None else ""
    errors.append(f"{name}: must be a whole number of at least {low}{upper}; got {raw!r}")
    return 0
