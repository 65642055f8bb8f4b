"""Parsing SCP answers into typed objects despite SCP's quirks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from console.scp import (
    HostAlias,
    ScpBadResponse,
    ServiceConfig,
    Workload,
    Workloads,
    parse_resource_check,
    parse_service_detail,
    parse_service_page,
    parse_service_summary,
    parse_sub_versions,
    parse_workloads,
)

from .fakes import fixture, full_detail


def test_seed_202_parses_with_empty_workload_and_empty_ports() -> None:
    detail = parse_service_detail(fixture("update-response-202.seed.json"))
    assert detail.config.workloads is None
    assert detail.http_port is None
    assert detail.https_port is None
    assert detail.state == ""
    assert detail.config.host_alias_enabled is True
    # The example's single blank entry is a placeholder, not an alias.
    assert detail.config.host_aliases == ()
    assert detail.created_dt == datetime(2026, 2, 11, 6, 41, 25, 347000, tzinfo=UTC)
    assert detail.raw == fixture("update-response-202.seed.json")


def test_full_detail_parses_every_field() -> None:
    detail = parse_service_detail(full_detail())
    assert detail.id == "dfs-0001"
    assert detail.name == "orders"
    assert (detail.data_flow_id, detail.data_flow_name) == ("df-1", "Apache NiFi")
    assert (detail.cluster_id, detail.cluster_name) == ("cluster-01", "dataflow-prod")
    assert detail.namespace_name == "ns-orders"
    assert detail.state == "RUNNING"
    assert detail.version == "1.27.1"
    assert (detail.http_port, detail.https_port) == (8080, 8443)
    assert detail.cluster_request_failed is False
    assert detail.hosts_file == "10.0.0.5 db.internal"
    assert detail.web_url_nifi == "https://nifi.example"
    assert detail.web_url_registry == "https://registry.example"
    assert detail.modified_dt is None
    assert detail.config == ServiceConfig(
        account_id="nifiadmin",
        description="order pipeline",
        domain="orders",
        node_selector="pool=dataflow",
        host_alias_enabled=True,
        host_aliases=(
            HostAlias("db.internal", "10.0.0.5"),
            HostAlias("cache.internal", "10.0.0.6"),
        ),
        workloads=Workloads(
            nifi=Workload(2000, 4096, 2, "1.27.1"),
            nifi_registry=Workload(500, 1024, 1, "1.27.1"),
            zookeeper=Workload(1000, 2048, 3, "3.9.2"),
        ),
    )


def test_detail_raw_has_the_password_masked() -> None:
    detail = parse_service_detail(full_detail())
    assert detail.raw["account"]["account_password"] == "***"
    assert "S3cret" not in json.dumps(detail.raw)
    assert "S3cret" not in repr(detail)


def test_state_compares_case_insensitively() -> None:
    detail = parse_service_detail(full_detail(state="updating"))
    assert detail.state == "UPDATING"
    assert detail.is_state("Updating", "editing")
    assert not detail.is_state("running")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), (True, True), ("false", False), (False, False), (None, False)],
)
def test_host_alias_enabled_accepts_text_and_booleans(value: object, expected: bool) -> None:
    detail = parse_service_detail(full_detail(host_alias={"enabled": value}))
    assert detail.config.host_alias_enabled is expected
    assert detail.config.host_aliases == ()


@pytest.mark.parametrize("value", ["", None, 8080.5, "n/a", [], {}])
def test_ports_that_are_not_numbers_become_none(value: object) -> None:
    assert parse_service_detail(full_detail(http_port=value)).http_port is None


@pytest.mark.parametrize("value", [8080, "8080", " 8080 ", 8080.0, "8080.0"])
def test_ports_accept_numbers_and_numeric_text(value: object) -> None:
    assert parse_service_detail(full_detail(http_port=value)).http_port == 8080


@pytest.mark.parametrize(
    "value",
    [
        "",
        None,
        "garbage",
        [],
        {"nifi": {"cpu": "2000", "memory": "1024", "replica": "1", "version": "1"}},
        {
            "nifi": {"cpu": "lots", "memory": "1024", "replica": "1", "version": "1"},
            "nifi_registry": {"cpu": "2000", "memory": "1024", "replica": "1", "version": "1"},
            "zookeeper": {"cpu": "2000", "memory": "1024", "replica": "3", "version": "1"},
        },
    ],
)
def test_missing_or_malformed_workload_becomes_none(value: object) -> None:
    assert parse_service_detail(full_detail(service_workload=value)).config.workloads is None


def test_workload_sent_as_json_text_or_under_nifiregistry_still_parses() -> None:
    workload = {"cpu": "1", "memory": "2", "replica": "3", "version": "v"}
    as_text = json.dumps({"nifi": workload, "nifi_registry": workload, "zookeeper": workload})
    assert parse_workloads(as_text) == Workloads(*([Workload(1, 2, 3, "v")] * 3))
    odd_key = {"nifi": workload, "nifiregistry": workload, "zookeeper": workload}
    assert parse_workloads(odd_key) == Workloads(*([Workload(1, 2, 3, "v")] * 3))


def test_detail_with_only_an_id_parses_with_defaults() -> None:
    detail = parse_service_detail({"data_flow_service_id": "dfs-9", "state": None})
    assert detail.id == "dfs-9"
    assert detail.state == ""
    assert detail.created_dt is None
    assert detail.config == ServiceConfig()


def test_detail_takes_the_top_level_account_id_when_account_is_missing() -> None:
    detail = parse_service_detail(full_detail(account=None, account_id="fromtop"))
    assert detail.config.account_id == "fromtop"


@pytest.mark.parametrize("body", [[], "text", None, 3])
def test_a_body_that_is_not_an_object_is_a_bad_response(body: object) -> None:
    with pytest.raises(ScpBadResponse):
        parse_service_detail(body)  # type: ignore[arg-type]


def test_summary_reads_the_list_item_fields() -> None:
    item = {
        "data_flow_service_id": "dfs-0001",
        "data_flow_service_name": "orders",
        "data_flow_id": "df-1",
        "data_flow_name": "Apache NiFi",
        "cluster_id": "cluster-01",
        "cluster_name": "dataflow-prod",
        "state": "running",
        "version": "1.27.1",
        "created_dt": "2026-02-11T06:41:25Z",
        "modified_dt": None,
        "created_by": "someone",
    }
    summary = parse_service_summary(item)
    assert summary.id == "dfs-0001"
    assert summary.name == "orders"
    assert summary.state == "RUNNING"
    assert summary.created_dt == datetime(2026, 2, 11, 6, 41, 25, tzinfo=UTC)
    assert summary.modified_dt is None
    assert summary.is_state("Running")


def test_page_reads_contents_and_total_count_as_text() -> None:
    items, total = parse_service_page(
        {"contents": [{"data_flow_service_id": "a"}], "total_count": "45"}
    )
    assert [item.id for item in items] == ["a"]
    assert total == 45


def test_page_reads_count_where_total_count_is_missing() -> None:
    _items, total = parse_service_page({"contents": [], "count": 12})
    assert total == 12
    _items, total = parse_service_page({"contents": [], "count": 3, "total_count": "7"})
    assert total == 7


def test_page_without_total_count_says_none() -> None:
    assert parse_service_page({"contents": None}) == ([], None)


def test_page_whose_contents_is_not_a_list_is_a_bad_response() -> None:
    with pytest.raises(ScpBadResponse):
        parse_service_page({"contents": "nope"})


def test_resource_check_reads_result_and_shows_numbers_as_text() -> None:
    check = parse_resource_check(
        {"result": "false", "err_code": "E-CPU", "cpu": 3500, "memory": None}
    )
    assert (check.ok, check.err_code, check.cpu, check.memory) == (False, "E-CPU", "3500", "")
    assert parse_resource_check({"result": True}).ok is True


@pytest.mark.parametrize(
    "nifi",
    ["1.27.1,1.28.0", " 1.27.1 , 1.28.0 ", ["1.27.1", "1.28.0"], ["1.27.1,1.28.0"]],
)
def test_sub_versions_accept_text_lists_and_comma_separated_text(nifi: object) -> None:
    versions = parse_sub_versions(
        {
            "data_flow_service_count": "4",
            "versions": {"nifi": nifi, "nifiregistry": "1.27.1", "zookeeper": None},
        }
    )
    assert versions.nifi == ("1.27.1", "1.28.0")
    assert versions.nifi_registry == ("1.27.1",)
    assert versions.zookeeper == ()
    assert versions.service_count == 4


def test_sub_versions_without_versions_are_empty() -> None:
    versions = parse_sub_versions({})
    assert (versions.nifi, versions.nifi_registry, versions.zookeeper) == ((), (), ())
    assert versions.service_count == 0


def test_service_config_round_trips_through_a_plain_dict() -> None:
    config = parse_service_detail(full_detail()).config
    data = config.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert ServiceConfig.from_dict(data) == config
    assert data["host_aliases"][0] == {"hostname": "db.internal", "ip": "10.0.0.5"}
    assert data["workloads"]["nifi"] == {
        "cpu": 2000,
        "memory": 4096,
        "replica": 2,
        "version": "1.27.1",
    }


def test_service_config_without_workloads_round_trips() -> None:
    config = ServiceConfig(account_id="nifiadmin")
    assert config.to_dict()["workloads"] is None
    assert ServiceConfig.from_dict(config.to_dict()) == config


def test_workloads_get_names_a_component() -> None:
    workloads = Workloads(*([Workload(1, 2, 3, "v")] * 3))
    assert workloads.get("nifi_registry") == Workload(1, 2, 3, "v")
    with pytest.raises(KeyError):
        workloads.get("kafka")
