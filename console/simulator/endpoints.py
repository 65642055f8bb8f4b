"""The /v1 endpoints of the simulated SCP: list, detail, update, pre-check and sub-versions.

Each reads and changes the store as SCP does (its documentation plus what live SCP did); the
routing, signing, version header and gateway faults in front of them are `app`'s.
"""

from __future__ import annotations

import copy
import re
from typing import TYPE_CHECKING, Any, NamedTuple

from console.simulator import rules
from console.simulator.landing import ui_links
from console.simulator.messages import Request, Response, json_parse, validation_error
from console.simulator.state import BUSY_STATES, STATES

if TYPE_CHECKING:
    from console.simulator.app import Simulator

LIST_MAX_SIZE = 1000
IGNORED_SIZE = 10
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
_WHOLE = re.compile(r"[0-9]{1,9}")

# The fixed answers of the `precheck` switch; `capacity` is computed.
_PRECHECK_ANSWERS: dict[str, dict[str, str]] = {
    # The only answer SCP documents; what its fields mean is not documented.
    "documented": {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": ""},
    # Guess: the shape of a clear "no".
    "no": {"cpu": "CPU", "err_code": "NotEnoughResource", "memory": "Memory", "result": "false"},
    # Guess: the shape of a clear "yes".
    "yes": {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": "true"},
}


class Endpoints:
    """Answers the /v1 calls of one simulator, once they are routed, signed and admitted."""

    def __init__(self, simulator: Simulator) -> None:
        """Serve `simulator`'s store, with its fault switches and delays."""
        self.simulator = simulator
        self.store = simulator.store
        self.faults = simulator.faults

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

    def list_services(self, request: Request, _: str) -> Response:
        """`GET /v1/data-flow-services`: filtered, sorted, paged list items."""
        query = _list_query(request.params)
        items = [
            item
            for item in map(self._list_item, self.store.services.values())
            if _list_match(item, query)
        ]
        items.sort(key=lambda item: item["data_flow_service_id"])
        items.sort(key=lambda item: item[query.sort_field], reverse=query.direction == "desc")
        size = query.size
        if self.faults.value("ignore_size", service_id=None, default=False):
            # Some SCP list endpoints ignore `size`; clients must page until total_count.
            size = IGNORED_SIZE
        start = query.page * size
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

    def detail(self, request: Request, service_id: str) -> Response:
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
        nifi_url, registry_url = f"https://{host}/nifi/", f"https://{host}/nifi-registry/"
        if self.simulator.public_url:
            # A simulator convenience, not SCP behaviour: links to its own stand-in pages.
            nifi_url, registry_url = ui_links(
                self.simulator.public_url, service["data_flow_service_id"]
            )
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
            "web_url_nifi": nifi_url,
            "web_url_registry": registry_url,
        }

    def _guess_rules(self) -> bool:
        """Whether the rules that are only guesses apply (off unless switched on)."""
        return bool(self.faults.value("guess_rules", service_id=None, default=False))

    def update(self, request: Request, service_id: str) -> Response:
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
            delay=self.simulator.update_delay if delay is None else float(delay),
            start_delay=self.simulator.start_delay if start is None else float(start),
            now=self.simulator.clock(),
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

    def validate_resources(self, request: Request, service_id: str) -> Response:
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
        if mode in _PRECHECK_ANSWERS:
            return Response(200, dict(_PRECHECK_ANSWERS[mode]))
        return Response(200, self._capacity_answer(service, body["service_workload"]))

    def _capacity_answer(self, service: dict[str, Any], requested: Any) -> dict[str, Any]:
        """The `capacity` pre-check: whether the requested workload fits the cluster."""
        # Guess: SCP compares the requested workload with the cluster's capacity. Other tenants
        # are not modelled, so that the answer depends on the request alone.
        workload = rules.workload_merge(service["config"]["service_workload"], requested)
        cpu = sum(int(c["cpu"]) * int(c["replica"]) for c in workload.values())
        memory = sum(int(c["memory"]) * int(c["replica"]) for c in workload.values())
        capacity = self.store.data_flow_for(service)["capacity"]
        fits = cpu <= capacity["cpu"] and memory <= capacity["memory"]
        return {
            "result": fits,
            "err_code": "" if fits else "InsufficientResources",
            "cpu": str(capacity["cpu"]),
            "memory": str(capacity["memory"]),
        }

    def sub_versions(self, request: Request, data_flow_id: str) -> Response:
        """`GET .../data-flows/{id}/sub-versions`: the versions a data flow offers."""
        flow = self.store.data_flows.get(data_flow_id)
        if flow is None:
            raise validation_error(
                [f"data_flow_id: no data flow {data_flow_id!r}"], "unknown data flow"
            )
        count = sum(1 for s in self.store.services.values() if s["data_flow_id"] == data_flow_id)
        return Response(200, {"data_flow_service_count": count, "versions": dict(flow["versions"])})


class _ListQuery(NamedTuple):
    """The list's query parameters, checked."""

    page: int
    size: int
    sort_field: str
    direction: str
    state: str
    name: str
    flow_name: str
    created_by: str


def _list_query(params: dict[str, str]) -> _ListQuery:
    """The list's paging, sort and filters; SCP's 400 naming every bad parameter."""
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
    return _ListQuery(
        page=page,
        size=size,
        sort_field=sort_field,
        direction=direction,
        state=state,
        name=params.get("data_flow_service_name", "").casefold(),
        flow_name=params.get("data_flow_name", ""),
        created_by=params.get("created_by", ""),
    )


def _list_match(item: dict[str, Any], query: _ListQuery) -> bool:
    """Whether a list item passes the query's filters (a name matches in part, any case)."""
    return (
        (not query.state or item["state"] == query.state)
        and (not query.name or query.name in item["data_flow_service_name"].casefold())
        and (not query.flow_name or item["data_flow_name"] == query.flow_name)
        and (not query.created_by or item["created_by"] == query.created_by)
    )


def _whole(raw: str, name: str, low: int, high: int | None, errors: list[str]) -> int:
    """A whole-number query parameter within [low, high]; records an error and returns 0 if not."""
    if _WHOLE.fullmatch(raw) and int(raw) >= low and (high is None or int(raw) <= high):
        return int(raw)
    upper = f" and at most {high}" if high is not None else ""
    errors.append(f"{name}: must be a whole number of at least {low}{upper}; got {raw!r}")
    return 0
