"""Request handling of the simulator: SCP's authentication, endpoints, error envelopes and faults.

`Simulator.handle` turns one raw request into one response; `RequestHandler` adapts it to
`http.server`, which keeps the request-target exactly as received (needed to check signatures).
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote

from console.simulator import rules, seed
from console.simulator.faults import FaultBoard, faults_parse
from console.simulator.state import BUSY_STATES, STATES, Store, iso_ms
from console.simulator.versions import VersionBoard, versions_parse

logger = logging.getLogger("console.simulator")

CLIENT_TYPE = "Openapi"
TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000
LIST_MAX_SIZE = 1000
IGNORED_SIZE = 10
REQUEST_LOG_LIMIT = 2000
AUTH_HEADERS = ("Scp-Accesskey", "Scp-Signature", "Scp-Timestamp")
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
CONTACT_ADMIN_DETAIL = (
    "There was a problem processing your request.\nContact us through Support Center > Contact Us."
)

_SERVICES_PATH = "/v1/data-flow-services"
# Ids are opaque, but a created service's id must fit in one path segment as it travels.
_UNROUTABLE_ID = re.compile(r"[/?#%\s\x00-\x1f\x7f]")
_WHOLE = re.compile(r"[0-9]{1,9}")


@dataclass
class Request:
    """One HTTP request as it arrived: the request-target is raw, never decoded."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The request-target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The raw query string, "" when there is none."""
        return self.target.partition("?")[2]

    def header(self, name: str) -> str | None:
        """A header's value, found case-insensitively as HTTP says."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class Response:
    """What to answer: a JSON body, or `drop` to close the connection without an answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class ApiError(Exception):
    """An answer in SCP's service error envelope, with the short verdict for the request log."""

    def __init__(self, status: int, code: str, detail: str | list[str], verdict: str) -> None:
        """Keep the envelope's parts."""
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.verdict = verdict

    def response(self) -> Response:
        """The error as SCP's envelope."""
        return Response(self.status, service_error(self.status, self.code, self.detail))


def validation_error(detail: str | list[str], verdict: str = "validation error") -> ApiError:
    """SCP's 400 `ValidationError`."""
    return ApiError(400, "ValidationError", detail, verdict)


def service_error(status: int, code: str, detail: str | list[str]) -> dict[str, Any]:
    """SCP's service error envelope with a fresh request id."""
    request_id = "req-" + uuid.uuid4().hex
    return {
        "errors": [
            {
                "code": code,
                "detail": detail,
                "global_request_id": request_id,
                "links": [],
                "related_resources": [],
                "request_id": request_id,
                "response": None,
                "status": status,
                "title": code,
            }
        ]
    }


def gateway_error(status: int, path: str) -> dict[str, Any]:
    """The API gateway's own envelope (a call without auth headers, an unknown path, a 503)."""
    now = datetime.now(tz=UTC)
    return {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00",
        "path": path,
        "status": status,
        "error": HTTPStatus(status).phrase,
        "requestId": str(uuid.uuid4()),
    }


def signature_compute(
    *, secret_key: str, method: str, url: bytes, timestamp: str, access_key: str
) -> str:
    """base64(HMAC-SHA256(secret, METHOD + URL + TIMESTAMP + ACCESS_KEY + "Openapi")).

    Deliberately independent of the console's client: a signing bug there must fail here.
    `url` is bytes because it is compared exactly as it travelled on the wire.
    """
    message = method.encode("ascii") + url + (timestamp + access_key + CLIENT_TYPE).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _body_for_log(raw: bytes) -> Any:
    """The request body as the log shows it: parsed JSON, else text, else None."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _json_parse(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, as a Java service's parser would insist."""

    def refuse(constant: str) -> Any:
        """Reject NaN and the infinities, which Python's parser accepts by default."""
        raise ValueError(f"{constant} is not JSON")

    return json.loads(raw.decode("utf-8"), parse_constant=refuse)


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
        self.versions = VersionBoard()
        self._log: deque[dict[str, Any]] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._log_lock = threading.Lock()

    # ---- entry -------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """The answer to one request; never raises."""
        try:
            if request.path == "/_simulator" or request.path.startswith("/_simulator/"):
                return self._control(request)
            if request.path.startswith("/v1/"):
                return self._logged(request, self._api_answer)
            if request.path == "/":
                return self._logged(request, self._root)
            return Response(404, gateway_error(404, request.path))
        except Exception:
            logger.exception("simulator failed on %s %s", request.method, request.path)
            return Response(
                500, service_error(500, "ContactAdminForAssistance", CONTACT_ADMIN_DETAIL)
            )

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
            "body": _body_for_log(request.body),
            "status": response.status,
            "verdict": verdict,
        }
        if request.method == "PUT":
            entry["applied"] = applied
        with self._log_lock:
            self._log.append(entry)
        return response

    def _gateway_faults(
        self, request: Request, service_id: str | None
    ) -> tuple[Response, str] | None:
        """An injected latency, hang or failure; the gateway drops or fails a call first."""
        latency = self.faults.value("latency", service_id=service_id, default=0)
        if latency:
            self.stopping.wait(latency)
        hang = self.faults.take_hang(service_id=service_id)
        if hang:
            self.stopping.wait(hang)
            return Response(0, drop=True), "injected hang"
        failure = self.faults.take_failure(service_id=service_id)
        if failure:
            return self._failure(failure, request.path), f"injected {failure}"
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
        service_id = route[1] if route and route[0] in ("detail", "update", "validate") else None

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

    def _failure(self, status: int, path: str) -> Response:
        """An injected failure: SCP's service envelope for a 500, the gateway's for the rest."""
        if status == 500:
            return Response(
                500, service_error(500, "ContactAdminForAssistance", CONTACT_ADMIN_DETAIL)
            )
        headers = {"Retry-After": "1"} if status == 429 else {}
        return Response(status, gateway_error(status, path), headers)

    def _authenticate(self, request: Request) -> tuple[Response, str] | None:
        """None when the call is signed correctly by an enabled key, else the refusal."""
        access_key = request.header("Scp-Accesskey")
        signature = request.header("Scp-Signature")
        timestamp = request.header("Scp-Timestamp")
        if not (access_key and signature and timestamp):
            # SCP's gateway answers an unauthenticated call as if the path did not exist.
            return Response(404, gateway_error(404, request.path)), "missing auth headers"

        def refuse(reason: str) -> tuple[Response, str]:
            """SCP's 401 for a signing fault, with the reason as detail and verdict."""
            return ApiError(401, "HmacValidFail", reason, reason).response(), reason

        if request.header("Scp-ClientType") != CLIENT_TYPE:
            return refuse("wrong client type")
        if not (timestamp.isascii() and timestamp.isdigit()):
            return refuse("invalid timestamp")
        if abs(self.clock() * 1000 - int(timestamp)) > TIMESTAMP_TOLERANCE_MS:
            return refuse("stale timestamp")
        secret_key = self.credentials.get(access_key)
        if secret_key is None:
            return refuse("unknown access key")
        host = request.header("Host")
        if not host:
            return refuse("missing host header")
        # http.server decoded the request line as latin-1: encoding it back gives the exact bytes.
        url = b"http://" + host.encode("latin-1") + request.target.encode("latin-1")
        expected = signature_compute(
            secret_key=secret_key,
            method=request.method,
            url=url,
            timestamp=timestamp,
            access_key=access_key,
        )
        if not hmac.compare_digest(expected.encode("ascii"), signature.encode("latin-1")):
            return refuse("signature mismatch")
        if access_key in self.not_enabled:
            detail = "rejected by gateway: data-flow is not enabled for this account in this region"
            return ApiError(401, "Unauthorized", detail, "").response(), "rejected by gateway"
        return None

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
            return _json_parse(request.body)
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
        return Response(200, {"contents": items[start : start + size], "total_count": len(items)})

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

    # ---- control endpoints (no auth, never under /v1) --------------------------------

    def _control(self, request: Request) -> Response:
        """`/_simulator/...`: the request log, faults, reset and service records."""
        method, path = request.method, request.path.rstrip("/")
        try:
            body = _json_parse(request.body) if request.body else {}
        except ValueError as exc:
            return _control_error(400, f"body: not valid JSON ({exc})")
        with self.store.lock:
            self.store.updates_settle(self.clock())
            if path == "/_simulator/health" and method == "GET":
                return Response(200, {"status": "ok"})
            if path == "/_simulator/requests":
                return self._control_requests(method)
            if path == "/_simulator/faults":
                return self._control_faults(method, body)
            if path == "/_simulator/versions":
                return self._control_versions(method, body)
            if path == "/_simulator/reset" and method == "POST":
                self.store.reset()
                self.faults.clear()
                self.versions.reset()
                with self._log_lock:
                    self._log.clear()
                return Response(200, {"status": "reset"})
            if path == "/_simulator/data-flows" and method == "GET":
                return Response(200, {"data_flows": list(self.store.data_flows.values())})
            if path == "/_simulator/services":
                if method == "GET":
                    return Response(
                        200, {"services": [self.internal(s) for s in self.store.services.values()]}
                    )
                if method == "POST":
                    return self._control_service_create(body)
            parts = path.split("/")
            if len(parts) >= 4 and parts[:3] == ["", "_simulator", "services"]:
                service = self.store.services.get(parts[3])
                if service is None:
                    return _control_error(404, f"no service {parts[3]!r}")
                if len(parts) == 4 and method == "GET":
                    return Response(200, self.internal(service))
                if len(parts) == 5 and parts[4] == "state" and method == "POST":
                    return self._control_state(service, body)
        return _control_error(404, f"no control endpoint {method} {request.path}")

    def _control_requests(self, method: str) -> Response:
        """Read or clear the request log."""
        with self._log_lock:
            if method == "GET":
                return Response(200, {"requests": copy.deepcopy(list(self._log))})
            if method == "DELETE":
                self._log.clear()
                return Response(200, {"requests": []})
        return _control_error(405, "use GET or DELETE")

    def _control_faults(self, method: str, body: Any) -> Response:
        """Read, set or clear the fault switches."""
        if method == "GET":
            return Response(200, self.faults.snapshot())
        if method == "DELETE":
            self.faults.clear()
            return Response(200, self.faults.snapshot())
        if method != "POST":
            return _control_error(405, "use GET, POST or DELETE")
        service_id, switches, errors = faults_parse(body)
        if service_id is not None and service_id not in self.store.services:
            errors.append(f"service_id: no service {service_id!r}")
        if errors:
            return _control_error(400, errors)
        self.faults.set(switches, service_id=service_id)
        return Response(200, self.faults.snapshot())

    def _control_versions(self, method: str, body: Any) -> Response:
        """Read, replace or restore the version list of `GET /` and the header check."""
        if method == "DELETE":
            self.versions.reset()
        elif method == "POST":
            versions, errors = versions_parse(body)
            if errors:
                return _control_error(400, errors)
            self.versions.set(versions)
        elif method != "GET":
            return _control_error(405, "use GET, POST or DELETE")
        return Response(200, {"versions": self.versions.snapshot()})

    def _control_state(self, service: dict[str, Any], body: Any) -> Response:
        """Force a service into a state (dropping any pending update)."""
        state = body.get("state") if isinstance(body, dict) else None
        if not isinstance(state, str) or state.upper() not in STATES:
            return _control_error(400, f"state: must be one of {', '.join(STATES)}")
        self.store.state_force(service["data_flow_service_id"], state.upper(), now=self.clock())
        return Response(200, self.internal(service))

    def _control_service_create(self, body: Any) -> Response:
        """Create a service from partial fields; defaults fill the rest."""
        if not isinstance(body, dict):
            return _control_error(400, "body: must be a JSON object")
        fields = dict(body)
        meta: dict[str, Any] = {}
        for key in (
            "data_flow_service_id",
            "data_flow_service_name",
            "data_flow_id",
            "state",
            "created_by",
            "created_dt",
            "cluster_request_failed",
        ):
            if key in fields:
                meta[key] = fields.pop(key)
        # The detail's flat account fields are accepted too, for convenience.
        flat = {key: fields.pop(key) for key in ("account_id", "account_password") if key in fields}
        if flat:
            account = fields.setdefault("account", {})
            if isinstance(account, dict):
                account.update(flat)

        errors: list[str] = []
        service_id = meta.get("data_flow_service_id", str(uuid.uuid4()))
        if not isinstance(service_id, str) or not service_id:
            errors.append("data_flow_service_id: must be a non-empty string")
        elif _UNROUTABLE_ID.search(service_id):
            errors.append(
                "data_flow_service_id: must fit in one URL path segment as it is "
                f"(no '/', '?', '#', '%' or spaces); got {service_id!r}"
            )
        elif service_id in self.store.services:
            errors.append(f"data_flow_service_id: {service_id} exists already")
        flow_id = meta.get("data_flow_id", seed.PROD_DATA_FLOW_ID)
        if flow_id not in self.store.data_flows:
            errors.append(f"data_flow_id: no data flow {flow_id!r}")
        state = meta.get("state", "RUNNING")
        if not isinstance(state, str) or state.upper() not in STATES:
            errors.append(f"state: must be one of {', '.join(STATES)}")
        for key in ("data_flow_service_name", "created_by", "created_dt"):
            if key in meta and not (isinstance(meta[key], str) and meta[key]):
                errors.append(f"{key}: must be a non-empty string")
        if not isinstance(meta.get("cluster_request_failed", False), bool):
            errors.append("cluster_request_failed: must be true or false")
        # Services made by other tools need not follow the guide: only the documented shape
        # applies, so a domain with dots or a bare node label can be created. Unknown fields are
        # refused all the same: here they are typos in a test.
        errors += [f"{key}: unknown field" for key in fields if key not in rules.TOP_LEVEL]
        errors += rules.update_validate(fields, shape_only=True)
        if errors:
            return _control_error(400, errors)

        now = self.clock()
        flow = self.store.data_flows[flow_id]
        record = seed.service_record(
            service_id=service_id,
            name=meta.get("data_flow_service_name", f"demo-{service_id[:6]}"),
            data_flow_id=flow_id,
            versions=flow["versions"],
            created_dt=meta.get("created_dt", iso_ms(now)),
            created_by=meta.get("created_by", "demo.admin"),
        )
        record["state"] = state.upper()
        record["cluster_request_failed"] = meta.get("cluster_request_failed", False)
        record["config"] = rules.update_merge(record["config"], fields)
        nifi_version = record["config"]["service_workload"]["nifi"]["version"]
        record["image_id"] = f"dataflow-nifi-{nifi_version}"
        self.store.service_add(record)
        return Response(201, self.detail_body(record))

    def internal(self, service: dict[str, Any]) -> dict[str, Any]:
        """A service record as the control endpoints show it: everything but the password."""
        record = copy.deepcopy(service)
        record["config"].pop("account_password", None)
        if record.get("pending"):
            record["pending"]["config"].pop("account_password", None)
            record["pending"]["due_dt"] = iso_ms(record["pending"]["due_at"])
            if "starts_at" in record["pending"]:
                record["pending"]["starts_dt"] = iso_ms(record["pending"]["starts_at"])
        flow = self.store.data_flow_for(service)
        record.update(
            data_flow_name=flow["data_flow_name"],
            cluster_id=flow["cluster_id"],
            cluster_name=flow["cluster_name"],
            cluster_capacity=dict(flow["capacity"]),
            version=service["config"]["service_workload"]["nifi"]["version"],
        )
        return record


def _control_error(status: int, detail: str | list[str]) -> Response:
    """A control endpoint's error: plain, since no SCP client ever reads it."""
    return Response(status, {"error": detail})


def _route(method: str, path: str) -> tuple[str, str] | None:
    """(endpoint, id from the path, percent-decoded) for a known API call, else None."""
    route = _route_raw(method, path)
    return (route[0], unquote(route[1])) if route else None


def _route_raw(method: str, path: str) -> tuple[str, str] | None:
    """(endpoint, id as it appears in the path) for a known API call, else None."""
    if path == _SERVICES_PATH:
        return ("list", "") if method == "GET" else None
    if not path.startswith(_SERVICES_PATH + "/"):
        return None
    parts = path[len(_SERVICES_PATH) + 1 :].split("/")
    if len(parts) == 1 and parts[0]:
        return {"GET": ("detail", parts[0]), "PUT": ("update", parts[0])}.get(method)
    if len(parts) == 2 and parts[0] and parts[1] == "validate-resources" and method == "POST":
        return ("validate", parts[0])
    if (
        len(parts) == 3
        and parts[0] == "data-flows"
        and parts[1]
        and parts[2] == "sub-versions"
        and method == "GET"
    ):
        return ("sub_versions", parts[1])
    return None


def _whole(raw: str, name: str, low: int, high: int | None, errors: list[str]) -> int:
    """A whole-number query parameter within [low, high]; records an error and returns 0 if not."""
    if _WHOLE.fullmatch(raw) and int(raw) >= low and (high is None or int(raw) <= high):
        return int(raw)
    upper = f" and at most {high}" if high is not None else ""
    errors.append(f"{name}: must be a whole number of at least {low}{upper}; got {raw!r}")
    return 0


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the `Simulator` its handlers answer with."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        """Bind to `address` (an IPv6 host switches the address family)."""
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.simulator = simulator
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    """Feeds raw requests to `Simulator.handle` and writes its responses."""

    server: SimulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the body waits for a delayed ACK.
    disable_nagle_algorithm = True
    server_version = "scp-simulator"
    sys_version = ""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Answer a PUT."""
        self._dispatch()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Answer a DELETE."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Answer a PATCH."""
        self._dispatch()

    def _dispatch(self) -> None:
        """Read the whole request, ask the simulator, write the answer (or drop the line)."""
        body = self._read_body()
        if body is None:
            self._write(Response(400, service_error(400, "ValidationError", "bad request body")))
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            target=self.path,  # http.server keeps the request-target exactly as received
            headers=dict(self.headers.items()),
            body=body,
        )
        response = self.server.simulator.handle(request)
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537).split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            return self.rfile.read(int(length))
        except ValueError:
            return None

    def _write(self, response: Response) -> None:
        """Send `response` as JSON with its length, so keep-alive connections stay usable."""
        data = b""
        if response.body is not None:
            data = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(response.status)
            if response.body is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout during an injected delay): nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Route http.server's access log to logging instead of stderr."""
        logger.info("%s " + format, self.address_string(), *args)
