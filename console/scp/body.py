"""Request bodies in the exact JSON shape SCP expects: every scalar a string."""

from __future__ import annotations

from typing import Any

from console.scp.types import ServiceConfig, Workload, Workloads


def build_update_body(config: ServiceConfig, *, account_password: str | None = None) -> dict:
    """The `DataFlowServicesUpdateRequest` for PUT; the password key only when one is given."""
    account: dict[str, str] = {"account_id": config.account_id}
    if account_password is not None:
        # None means "keep the current password": SCP must not see the key at all then.
        account["account_password"] = account_password
    body: dict[str, Any] = {
        "account": account,
        "description": config.description,
        "domain": config.domain,
        "host_alias": {
            "enabled": "true" if config.host_alias_enabled else "false",
            "host_alias_list": [
                {"hostname": alias.hostname, "ip": alias.ip} for alias in config.host_aliases
            ],
        },
        "node_selector": config.node_selector,
    }
    if config.workloads is not None:
        body["service_workload"] = build_workloads_body(config.workloads)
    return body


def build_workloads_body(workloads: Workloads) -> dict[str, dict[str, str]]:
    """`service_workload` as SCP takes it: each component's numbers as decimal strings."""
    return {name: _workload_body(workloads.get(name)) for name in Workloads.COMPONENTS}


def _workload_body(workload: Workload) -> dict[str, str]:
    return {
        "cpu": str(workload.cpu),
        "memory": str(workload.memory),
        "replica": str(workload.replica),
        "version": workload.version,
    }
