"""The PUT body builder, held to the exact JSON of SCP's documented request example."""

from __future__ import annotations

import json

from console.scp import (
    HostAlias,
    ServiceConfig,
    Workload,
    Workloads,
    build_update_body,
    build_workloads_body,
)

from .fakes import fixture, fixture_text

SEED_WORKLOADS = Workloads(
    nifi=Workload(cpu=2000, memory=1024, replica=1, version="1.27.1"),
    nifi_registry=Workload(cpu=2000, memory=1024, replica=1, version="1.27.1"),
    zookeeper=Workload(cpu=2000, memory=1024, replica=3, version="3.9.2"),
)


def _seed_config() -> ServiceConfig:
    return ServiceConfig(
        host_alias_enabled=True,
        host_aliases=(HostAlias(hostname="", ip=""),),
        workloads=SEED_WORKLOADS,
    )


def test_body_equals_the_seed_example_key_for_key_and_in_order() -> None:
    body = build_update_body(_seed_config(), account_password="")
    assert body == fixture("update-request.seed.json")
    # Same order as the documented example, byte for byte once dumped.
    assert json.dumps(body, indent=2) == fixture_text("update-request.seed.json").strip()


def test_body_leaves_the_password_out_when_none_is_given() -> None:
    body = build_update_body(ServiceConfig(account_id="nifiadmin"))
    assert body["account"] == {"account_id": "nifiadmin"}


def test_body_sends_the_password_when_one_is_given() -> None:
    body = build_update_body(ServiceConfig(account_id="nifiadmin"), account_password="N3w!pass")
    assert body["account"] == {"account_id": "nifiadmin", "account_password": "N3w!pass"}


def test_body_sends_every_scalar_as_a_string() -> None:
    config = ServiceConfig(
        account_id="nifiadmin",
        description="orders",
        domain="orders-prod",
        node_selector="pool=dataflow",
        host_alias_enabled=False,
        host_aliases=(HostAlias("db.internal", "10.0.0.5"),),
        workloads=SEED_WORKLOADS,
    )
    body = build_update_body(config)
    assert body["host_alias"] == {
        "enabled": "false",
        "host_alias_list": [{"hostname": "db.internal", "ip": "10.0.0.5"}],
    }
    assert body["service_workload"]["zookeeper"] == {
        "cpu": "2000",
        "memory": "1024",
        "replica": "3",
        "version": "3.9.2",
    }

    def scalars(value: object) -> list[object]:
        if isinstance(value, dict):
            return [s for item in value.values() for s in scalars(item)]
        if isinstance(value, list):
            return [s for item in value for s in scalars(item)]
        return [value]

    assert all(isinstance(value, str) for value in scalars(body))


def test_body_has_no_workloads_when_the_config_has_none() -> None:
    body = build_update_body(ServiceConfig(account_id="nifiadmin"))
    assert "service_workload" not in body
    assert list(body) == ["account", "description", "domain", "host_alias", "node_selector"]


def test_workloads_body_covers_the_three_components() -> None:
    assert list(build_workloads_body(SEED_WORKLOADS)) == ["nifi", "nifi_registry", "zookeeper"]
