"""The control endpoints (`/_simulator/...`, no auth, never under /v1): the request log, faults,
versions, reset and service records, for demos and tests."""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from console.simulator import rules, seed
from console.simulator.faults import faults_parse
from console.simulator.messages import Request, Response, control_error, json_parse
from console.simulator.state import BUSY_STATES, STATES, iso_ms
from console.simulator.versions import versions_parse

if TYPE_CHECKING:
    from console.simulator.app import Simulator

# Ids are opaque, but a created service's id must fit in one path segment as it travels.
_UNROUTABLE_ID = re.compile(r"[/?#%\s\x00-\x1f\x7f]")


class Control:
    """Answers the control endpoints of one simulator."""

    def __init__(self, simulator: Simulator) -> None:
        """Control `simulator`."""
        self.simulator = simulator
        self.store = simulator.store
        # The handler of each fixed control path; None from one means no such endpoint.
        self._routes: dict[str, Callable[[str, str, Any], Response | None]] = {
            "/_simulator/health": self._control_health,
            "/_simulator/requests": self._control_requests,
            "/_simulator/faults": self._control_faults,
            "/_simulator/versions": self._control_versions,
            "/_simulator/reset": self._control_reset,
            "/_simulator/data-flows": self._control_data_flows,
            "/_simulator/services": self._control_services,
        }

    def handle(self, request: Request) -> Response:
        """`/_simulator/...`: the request log, faults, reset and service records."""
        method, path = request.method, request.path.rstrip("/")
        try:
            body = json_parse(request.body) if request.body else {}
        except ValueError as exc:
            return control_error(400, f"body: not valid JSON ({exc})")
        with self.store.lock:
            self.store.updates_settle(self.simulator.clock())
            route = self._routes.get(path, self._control_service)
            answer = route(method, path, body)
        if answer is not None:
            return answer
        return control_error(404, f"no control endpoint {method} {request.path}")

    def _control_health(self, method: str, path: str, body: Any) -> Response | None:
        """Whether the simulator answers."""
        return Response(200, {"status": "ok"}) if method == "GET" else None

    def _control_reset(self, method: str, path: str, body: Any) -> Response | None:
        """Back to the seed data, with no faults, no edge count, the default versions, no log."""
        if method != "POST":
            return None
        self.store.reset()
        self.simulator.faults.clear()
        self.simulator.edge.reset()
        self.simulator.versions.reset()
        self.simulator.log_clear()
        return Response(200, {"status": "reset"})

    def _control_data_flows(self, method: str, path: str, body: Any) -> Response | None:
        """The data flows (products) services belong to."""
        if method != "GET":
            return None
        return Response(200, {"data_flows": list(self.store.data_flows.values())})

    def _control_services(self, method: str, path: str, body: Any) -> Response | None:
        """List the service records, or create one."""
        if method == "GET":
            return Response(
                200, {"services": [self.internal(s) for s in self.store.services.values()]}
            )
        if method == "POST":
            return self._control_service_create(body)
        return None

    def _control_service(self, method: str, path: str, body: Any) -> Response | None:
        """`/_simulator/services/{id}[/state|/config]`: one service's record, state or config."""
        parts = path.split("/")
        if len(parts) < 4 or parts[:3] != ["", "_simulator", "services"]:
            return None
        service = self.store.services.get(parts[3])
        if service is None:
            return control_error(404, f"no service {parts[3]!r}")
        if len(parts) == 4 and method == "GET":
            return Response(200, self.internal(service))
        if len(parts) == 5 and method == "POST" and parts[4] in ("state", "config"):
            change = self._control_state if parts[4] == "state" else self._control_config
            return change(service, body)
        return None

    def _control_requests(self, method: str, path: str, body: Any) -> Response:
        """Read or clear the request log."""
        if method == "GET":
            return Response(200, {"requests": self.simulator.log_snapshot()})
        if method == "DELETE":
            self.simulator.log_clear()
            return Response(200, {"requests": []})
        return control_error(405, "use GET or DELETE")

    def _control_faults(self, method: str, path: str, body: Any) -> Response:
        """Read, set or clear the fault switches."""
        if method == "GET":
            return Response(200, self.simulator.faults.snapshot())
        if method == "DELETE":
            self.simulator.faults.clear()
            self.simulator.edge.reset()
            return Response(200, self.simulator.faults.snapshot())
        if method != "POST":
            return control_error(405, "use GET, POST or DELETE")
        service_id, switches, errors = faults_parse(body)
        if service_id is not None and service_id not in self.store.services:
            errors.append(f"service_id: no service {service_id!r}")
        if errors:
            return control_error(400, errors)
        self.simulator.faults.set(switches, service_id=service_id)
        return Response(200, self.simulator.faults.snapshot())

    def _control_versions(self, method: str, path: str, body: Any) -> Response:
        """Read, replace or restore the version list of `GET /` and the header check."""
        if method == "DELETE":
            self.simulator.versions.reset()
        elif method == "POST":
            versions, errors = versions_parse(body)
            if errors:
                return control_error(400, errors)
            self.simulator.versions.set(versions)
        elif method != "GET":
            return control_error(405, "use GET, POST or DELETE")
        return Response(200, {"versions": self.simulator.versions.snapshot()})

    def _control_state(self, service: dict[str, Any], body: Any) -> Response:
        """Force a service into a state (dropping any pending update)."""
        state = body.get("state") if isinstance(body, dict) else None
        if not isinstance(state, str) or state.upper() not in STATES:
            return control_error(400, f"state: must be one of {', '.join(STATES)}")
        self.store.state_force(
            service["data_flow_service_id"], state.upper(), now=self.simulator.clock()
        )
        return Response(200, self.internal(service))

    def _control_config(self, service: dict[str, Any], body: Any) -> Response:
        """Change a service as SCP's own console would: fields in the update body's shape, applied
        at once (no UPDATING), `modified_dt` moved, `modified_by` set when given."""
        if not isinstance(body, dict):
            return control_error(400, "body: must be a JSON object")
        fields = dict(body)
        modified_by = fields.pop("modified_by", None)
        errors = _config_errors(fields, modified_by)
        if errors:
            return control_error(400, errors)
        if service.get("pending") or service["state"] in BUSY_STATES:
            # Guess: SCP's own console meets the same refusal as a PUT while an update runs.
            return control_error(409, f"the service is {service['state']}: SCP refuses a change")
        self.store.config_set(
            service["data_flow_service_id"],
            config=rules.update_merge(service["config"], fields),
            modified_by=modified_by,
            now=self.simulator.clock(),
        )
        return Response(200, self.simulator.endpoints.detail_body(service))

    def _control_service_create(self, body: Any) -> Response:
        """Create a service from partial fields; defaults fill the rest."""
        if not isinstance(body, dict):
            return control_error(400, "body: must be a JSON object")
        meta, fields = _create_fields(body)
        service_id = meta.get("data_flow_service_id", str(uuid.uuid4()))
        errors = self._create_errors(meta, fields, service_id)
        if errors:
            return control_error(400, errors)
        record = self._create_record(meta, fields, service_id)
        self.store.service_add(record)
        return Response(201, self.simulator.endpoints.detail_body(record))

    def _create_errors(
        self, meta: dict[str, Any], fields: dict[str, Any], service_id: Any
    ) -> list[str]:
        """What is wrong with a service to create: its id, data flow, state and fields."""
        errors = _service_id_errors(service_id, taken=self.store.services)
        flow_id = meta.get("data_flow_id", seed.PROD_DATA_FLOW_ID)
        if flow_id not in self.store.data_flows:
            errors.append(f"data_flow_id: no data flow {flow_id!r}")
        errors += _meta_errors(meta)
        # Services made by other tools need not follow the guide: only the documented shape
        # applies, so a domain with dots or a bare node label can be created. Unknown fields are
        # refused all the same: here they are typos in a test.
        errors += [f"{key}: unknown field" for key in fields if key not in rules.TOP_LEVEL]
        errors += rules.update_validate(fields, shape_only=True)
        return errors

    def _create_record(
        self, meta: dict[str, Any], fields: dict[str, Any], service_id: str
    ) -> dict[str, Any]:
        """The new service's record: the seed's shape, the given fields, defaults for the rest."""
        now = self.simulator.clock()
        flow_id = meta.get("data_flow_id", seed.PROD_DATA_FLOW_ID)
        flow = self.store.data_flows[flow_id]
        record = seed.service_record(
            service_id=service_id,
            name=meta.get("data_flow_service_name", f"demo-{service_id[:6]}"),
            data_flow_id=flow_id,
            versions=flow["versions"],
            created_dt=meta.get("created_dt", iso_ms(now)),
            created_by=meta.get("created_by", "demo.admin"),
        )
        record["state"] = meta.get("state", "RUNNING").upper()
        record["cluster_request_failed"] = meta.get("cluster_request_failed", False)
        record["config"] = rules.update_merge(record["config"], fields)
        nifi_version = record["config"]["service_workload"]["nifi"]["version"]
        record["image_id"] = f"dataflow-nifi-{nifi_version}"
        return record

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


# The fields of a created service that are not in the update body's shape.
_META_FIELDS = (
    "data_flow_service_id",
    "data_flow_service_name",
    "data_flow_id",
    "state",
    "created_by",
    "created_dt",
    "cluster_request_failed",
)


def _create_fields(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A create body split into (the record's own fields, fields in the update body's shape)."""
    fields = dict(body)
    meta = {key: fields.pop(key) for key in _META_FIELDS if key in fields}
    # The detail's flat account fields are accepted too, for convenience.
    flat = {key: fields.pop(key) for key in ("account_id", "account_password") if key in fields}
    if flat:
        account = fields.setdefault("account", {})
        if isinstance(account, dict):
            account.update(flat)
    return meta, fields


def _service_id_errors(service_id: Any, *, taken: dict[str, Any]) -> list[str]:
    """What is wrong with a new service's id: empty, not one path segment, or taken."""
    if not isinstance(service_id, str) or not service_id:
        return ["data_flow_service_id: must be a non-empty string"]
    if _UNROUTABLE_ID.search(service_id):
        return [
            "data_flow_service_id: must fit in one URL path segment as it is "
            f"(no '/', '?', '#', '%' or spaces); got {service_id!r}"
        ]
    if service_id in taken:
        return [f"data_flow_service_id: {service_id} exists already"]
    return []


def _meta_errors(meta: dict[str, Any]) -> list[str]:
    """What is wrong with a new service's state, names, date and failure flag."""
    errors: list[str] = []
    state = meta.get("state", "RUNNING")
    if not isinstance(state, str) or state.upper() not in STATES:
        errors.append(f"state: must be one of {', '.join(STATES)}")
    for key in ("data_flow_service_name", "created_by", "created_dt"):
        if key in meta and not (isinstance(meta[key], str) and meta[key]):
            errors.append(f"{key}: must be a non-empty string")
    if not isinstance(meta.get("cluster_request_failed", False), bool):
        errors.append("cluster_request_failed: must be true or false")
    return errors


def _config_errors(fields: dict[str, Any], modified_by: Any) -> list[str]:
    """What is wrong with a config change: its author, or fields outside the update's shape."""
    errors: list[str] = []
    if modified_by is not None and not (isinstance(modified_by, str) and modified_by):
        errors.append("modified_by: must be a non-empty string")
    if not fields:
        errors.append(f"body: name at least one of {', '.join(rules.TOP_LEVEL)}")
    errors += [f"{key}: unknown field" for key in fields if key not in rules.TOP_LEVEL]
    errors += rules.update_validate(fields, shape_only=True)
    return errors
