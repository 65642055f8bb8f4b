"""Typed views of SCP Data Flow answers, and the parsers that build them from quirky JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from console.scp.errors import ScpBadResponse
from console.scp.redact import redact


@dataclass(frozen=True, slots=True)
class Workload:
    """One component's resources: cpu in millicores, memory in MiB, pod count, image version."""

    cpu: int
    memory: int
    replica: int
    version: str

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form with integers."""
        return {
            "cpu": self.cpu,
            "memory": self.memory,
            "replica": self.replica,
            "version": self.version,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workload:
        """Inverse of `to_dict`; raises ValueError when a number is missing or not a number."""
        cpu = _to_int(data.get("cpu"))
        memory = _to_int(data.get("memory"))
        replica = _to_int(data.get("replica"))
        if cpu is None or memory is None or replica is None:
            raise ValueError(f"workload needs integer cpu, memory and replica, got {data!r}")
        return cls(cpu=cpu, memory=memory, replica=replica, version=_to_str(data.get("version")))


@dataclass(frozen=True, slots=True)
class Workloads:
    """The workloads of the three components of a Data Flow service."""

    COMPONENTS: ClassVar[tuple[str, ...]] = ("nifi", "nifi_registry", "zookeeper")

    nifi: Workload
    nifi_registry: Workload
    zookeeper: Workload

    def get(self, component: str) -> Workload:
        """The workload of one component by its name in COMPONENTS; KeyError for any other."""
        if component not in self.COMPONENTS:
            raise KeyError(component)
        return getattr(self, component)

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """Plain JSON-able form keyed by component."""
        return {name: self.get(name).to_dict() for name in self.COMPONENTS}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Workloads:
        """Inverse of `to_dict`; raises ValueError when a component is missing or malformed."""
        parts = {}
        for name in cls.COMPONENTS:
            part = data.get(name)
            if not isinstance(part, dict):
                raise ValueError(f"workloads need {name!r}")
            parts[name] = Workload.from_dict(part)
        return cls(**parts)


@dataclass(frozen=True, slots=True)
class HostAlias:
    """One /etc/hosts line that Kubernetes writes into the service's pods."""

    hostname: str
    ip: str


@dataclass(frozen=True, slots=True)
class ServiceConfig:
    """What the console manages of a service; it never holds a password."""

    account_id: str = ""
    description: str = ""
    domain: str = ""
    node_selector: str = ""
    host_alias_enabled: bool = False
    host_aliases: tuple[HostAlias, ...] = ()
    workloads: Workloads | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able form, for storing a snapshot or a planned change."""
        return {
            "account_id": self.account_id,
            "description": self.description,
            "domain": self.domain,
            "node_selector": self.node_selector,
            "host_alias_enabled": self.host_alias_enabled,
            "host_aliases": [{"hostname": a.hostname, "ip": a.ip} for a in self.host_aliases],
            "workloads": self.workloads.to_dict() if self.workloads is not None else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ServiceConfig:
        """Inverse of `to_dict` (round-trips exactly); missing keys take the defaults."""
        workloads = data.get("workloads")
        return cls(
            account_id=_to_str(data.get("account_id")),
            description=_to_str(data.get("description")),
            domain=_to_str(data.get("domain")),
            node_selector=_to_str(data.get("node_selector")),
            host_alias_enabled=_to_bool(data.get("host_alias_enabled")),
            host_aliases=tuple(
                HostAlias(hostname=_to_str(a.get("hostname")), ip=_to_str(a.get("ip")))
                for a in data.get("host_aliases") or ()
                if isinstance(a, dict)
            ),
            workloads=Workloads.from_dict(workloads) if isinstance(workloads, dict) else None,
        )


@dataclass(frozen=True, slots=True)
class ServiceSummary:
    """One service as the list call shows it."""

    id: str
    name: str
    data_flow_id: str
    data_flow_name: str
    cluster_id: str
    cluster_name: str
    state: str
    version: str
    created_dt: datetime | None
    modified_dt: datetime | None

    def is_state(self, *states: str) -> bool:
        """True when the state is one of `states`, compared case-insensitively."""
        return self.state in {state.upper() for state in states}


@dataclass(frozen=True, slots=True)
class ServiceDetail:
    """One service as GET by id and the 202 of PUT show it; `raw` has every secret masked."""

    id: str
    name: str
    data_flow_id: str
    data_flow_name: str
    cluster_id: str
    cluster_name: str
    namespace_name: str
    state: str
    version: str
    web_url_nifi: str
    web_url_registry: str
    http_port: int | None
    https_port: int | None
    cluster_request_failed: bool
    hosts_file: str
    created_dt: datetime | None
    modified_dt: datetime | None
    config: ServiceConfig
    raw: dict[str, Any] = field(default_factory=dict, hash=False, repr=False)

    def is_state(self, *states: str) -> bool:
        """True when the state is one of `states`, compared case-insensitively."""
        return self.state in {state.upper() for state in states}


@dataclass(frozen=True, slots=True)
class ResourceCheck:
    """SCP's answer to a resource pre-check, as sent: the meaning of its fields is undocumented.

    The only documented answer is `{"cpu": "CPU", "err_code": "", "memory": "Memory",
    "result": ""}`; `cpu` and `memory` may be labels, not numbers, so they are kept as text.
    """

    result: str
    err_code: str
    cpu: str
    memory: str

    @property
    def verdict(self) -> str:
        """ "no" only for a clear no (result false, or an error code); "yes"; else "none"."""
        if self.err_code or self.result.lower() == "false":
            return "no"
        if self.result.lower() == "true":
            return "yes"
        return "none"

    @property
    def ok(self) -> bool:
        """True unless SCP clearly said no: no verdict is not a "no"."""
        return self.verdict != "no"


@dataclass(frozen=True, slots=True)
class SubVersions:
    """The component versions SCP offers for a Data Flow, and how many services use it."""

    nifi: tuple[str, ...]
    nifi_registry: tuple[str, ...]
    zookeeper: tuple[str, ...]
    service_count: int


def parse_service_summary(data: Any) -> ServiceSummary:
    """One item of the list call; raises ScpBadResponse when it is not an object."""
    data = _require_object(data, "service list item")
    return ServiceSummary(
        id=_to_str(data.get("data_flow_service_id") or data.get("id")),
        name=_to_str(data.get("data_flow_service_name")),
        data_flow_id=_to_str(data.get("data_flow_id")),
        data_flow_name=_to_str(data.get("data_flow_name")),
        cluster_id=_to_str(data.get("cluster_id")),
        cluster_name=_to_str(data.get("cluster_name")),
        state=_to_str(data.get("state")).upper(),
        version=_to_str(data.get("version")),
        created_dt=_to_datetime(data.get("created_dt")),
        modified_dt=_to_datetime(data.get("modified_dt")),
    )


def parse_service_page(data: Any) -> tuple[list[ServiceSummary], int | None]:
    """One page of the list call: its items and its total (`total_count` or `count`; None when
    SCP gave neither)."""
    data = _require_object(data, "service list")
    contents = data.get("contents")
    if contents is None:
        contents = []
    if not isinstance(contents, list):
        raise ScpBadResponse(
            "SCP answered the service list with 'contents' that is not a list: try again later."
        )
    items = [parse_service_summary(item) for item in contents]
    # Samsung's SDK models of SCP v2 lists mostly say `count`, a few `total_count` (§8).
    total = _to_int(data.get("total_count"))
    return items, total if total is not None else _to_int(data.get("count"))


def parse_service_detail(data: Any) -> ServiceDetail:
    """GET by id or the 202 of PUT; raises ScpBadResponse when the body is not an object."""
    data = _require_object(data, "service detail")
    account = data.get("account") if isinstance(data.get("account"), dict) else {}
    host_alias = data.get("host_alias") if isinstance(data.get("host_alias"), dict) else {}
    config = ServiceConfig(
        account_id=_to_str(account.get("account_id") or data.get("account_id")),
        description=_to_str(data.get("description")),
        domain=_to_str(data.get("domain")),
        node_selector=_to_str(data.get("node_selector")),
        host_alias_enabled=_to_bool(host_alias.get("enabled")),
        host_aliases=_parse_host_aliases(host_alias.get("host_alias_list")),
        workloads=parse_workloads(data.get("service_workload")),
    )
    return ServiceDetail(
        id=_to_str(data.get("data_flow_service_id") or data.get("id")),
        name=_to_str(data.get("data_flow_service_name")),
        data_flow_id=_to_str(data.get("data_flow_id")),
        data_flow_name=_to_str(data.get("data_flow_name")),
        cluster_id=_to_str(data.get("cluster_id")),
        cluster_name=_to_str(data.get("cluster_name")),
        namespace_name=_to_str(data.get("namespace_name")),
        state=_to_str(data.get("state")).upper(),
        version=_to_str(data.get("version")),
        web_url_nifi=_to_str(data.get("web_url_nifi")),
        web_url_registry=_to_str(data.get("web_url_registry")),
        http_port=_to_int(data.get("http_port")),
        https_port=_to_int(data.get("https_port")),
        cluster_request_failed=_to_bool(data.get("cluster_request_failed")),
        hosts_file=_to_str(data.get("hosts_file")),
        created_dt=_to_datetime(data.get("created_dt")),
        modified_dt=_to_datetime(data.get("modified_dt")),
        config=config,
        raw=redact(data),
    )


def parse_workloads(value: Any) -> Workloads | None:
    """`service_workload` as SCP sends it; None when it is "", missing or malformed."""
    if isinstance(value, str) and value.strip().startswith("{"):
        # Some answers carry the object serialised as a string.
        try:
            value = json.loads(value)
        except ValueError:
            return None
    if not isinstance(value, dict):
        return None
    if "nifi_registry" not in value and "nifiregistry" in value:
        value = {**value, "nifi_registry": value["nifiregistry"]}
    try:
        return Workloads.from_dict(value)
    except ValueError:
        return None


def parse_resource_check(data: Any) -> ResourceCheck:
    """The answer of validate-resources; raises ScpBadResponse when it is not an object."""
    data = _require_object(data, "resource check")
    return ResourceCheck(
        result=_to_str(data.get("result")),
        err_code=_to_str(data.get("err_code")),
        cpu=_display(data.get("cpu")),
        memory=_display(data.get("memory")),
    )


def parse_sub_versions(data: Any) -> SubVersions:
    """The answer of sub-versions; raises ScpBadResponse when it is not an object."""
    data = _require_object(data, "sub-versions")
    versions = data.get("versions") if isinstance(data.get("versions"), dict) else {}
    return SubVersions(
        nifi=_version_list(versions.get("nifi")),
        nifi_registry=_version_list(
            versions.get("nifiregistry")
            if versions.get("nifiregistry") is not None
            else versions.get("nifi_registry")
        ),
        zookeeper=_version_list(versions.get("zookeeper")),
        service_count=_to_int(data.get("data_flow_service_count")) or 0,
    )


def _require_object(data: Any, what: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ScpBadResponse(
            f"SCP answered the {what} with {type(data).__name__} instead of a JSON object: "
            "try again later."
        )
    return data


def _parse_host_aliases(value: Any) -> tuple[HostAlias, ...]:
    if not isinstance(value, list):
        return ()
    aliases = []
    for item in value:
        if not isinstance(item, dict):
            continue
        alias = HostAlias(hostname=_to_str(item.get("hostname")), ip=_to_str(item.get("ip")))
        # The documented examples carry one blank placeholder entry; it is not an alias.
        if alias.hostname or alias.ip:
            aliases.append(alias)
    return tuple(aliases)


def _version_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        parts = value.split(",")
    elif isinstance(value, (list, tuple)):
        parts = [part for item in value for part in _to_str(item).split(",")]
    elif value is None:
        parts = []
    else:
        parts = [_to_str(value)]
    return tuple(part.strip() for part in parts if part.strip())


def _to_str(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _to_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        try:
            return int(text)
        except ValueError:
            pass
        try:
            number = float(text)
        except ValueError:
            return None
        return int(number) if number.is_integer() else None
    return None


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, str):
        return value.strip().lower() in {"true", "1", "yes", "y", "on"}
    return False


def _to_datetime(value: Any) -> datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Epoch numbers: milliseconds when too large to be seconds.
        seconds = value / 1000 if value > 1e11 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _display(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return _to_str(value)
