"""Detail, sub-versions and validate-resources answer with SCP's shapes."""

from __future__ import annotations

import pytest

from console.simulator import seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorHandle

DETAIL_FIELDS = {
    "account",
    "account_id",
    "cluster_id",
    "cluster_name",
    "cluster_permission",
    "cluster_request_failed",
    "created_dt",
    "data_flow_id",
    "data_flow_name",
    "data_flow_service_id",
    "data_flow_service_name",
    "description",
    "domain",
    "host_alias",
    "host_file_registry",
    "hosts_file",
    "http_port",
    "https_port",
    "image_id",
    "ingress_class_name",
    "instance_id",
    "modified_dt",
    "namespace_name",
    "node_selector",
    "service_workload",
    "state",
    "storage_class_name",
    "version",
    "web_url_nifi",
    "web_url_registry",
}


def detail_path(service_id: str) -> str:
    """The by-id path of a service."""
    return f"/v1/data-flow-services/{service_id}"


def test_detail_has_every_update_response_field_plus_account_id(api: Api) -> None:
    response = api.get(detail_path(seed.SALES_ETL_ID))

    assert response.status_code == 200
    body = response.json()
    assert set(body) == DETAIL_FIELDS
    assert body["data_flow_service_id"] == seed.SALES_ETL_ID
    assert body["account_id"] == body["account"]["account_id"] == "salesadmin"


def test_detail_never_returns_the_stored_password(api: Api) -> None:
    body = api.get(detail_path(seed.SALES_ETL_ID)).json()

    assert body["account"]["account_password"] == ""
    assert seed.DEMO_PASSWORDS["salesadmin"] not in str(body)


def test_detail_has_typed_ports_and_workloads_as_strings(api: Api) -> None:
    body = api.get(detail_path(seed.SALES_ETL_ID)).json()

    assert body["http_port"] == 8080 and body["https_port"] == 8443
    assert body["service_workload"]["nifi"] == {
        "cpu": "4000",
        "memory": "8192",
        "replica": "2",
        "version": "1.27.1",
    }
    assert set(body["service_workload"]) == {"nifi", "nifi_registry", "zookeeper"}


def test_web_urls_follow_from_name_and_domain(api: Api) -> None:
    body = api.get(detail_path(seed.SALES_ETL_ID)).json()

    assert body["web_url_nifi"] == "https://sales-etl.sales.dataflow.test/nifi/"
    assert body["web_url_registry"] == "https://sales-etl.sales.dataflow.test/nifi-registry/"


def test_hosts_file_groups_hostnames_by_ip(api: Api) -> None:
    body = api.get(detail_path(seed.SALES_ETL_ID)).json()

    assert body["hosts_file"] == (
        "# Entries added by HostAliases.\n"
        "10.10.1.21\terp-db.corp.internal\n"
        "10.10.1.40\tdwh.corp.internal\tdwh-replica.corp.internal\n"
    )


def test_hosts_file_is_empty_when_aliases_are_off(api: Api) -> None:
    body = api.get(detail_path(seed.ML_FEATURES_ID)).json()

    assert body["host_alias"]["enabled"] == "false"
    assert body["hosts_file"] == ""


def test_iot_ingest_has_exactly_twenty_host_aliases(api: Api) -> None:
    body = api.get(detail_path(seed.IOT_INGEST_ID)).json()

    assert len(body["host_alias"]["host_alias_list"]) == 20


def test_failed_service_flags_its_cluster_request(api: Api) -> None:
    body = api.get(detail_path(seed.FINANCE_BATCH_ID)).json()

    assert body["state"] == "ERROR"
    assert body["cluster_request_failed"] is True


@pytest.mark.parametrize(
    "service_id",
    [
        "2a9be312-5d4b-4bc8-b2ae-35100fa9241f",  # well formed, unknown
        "not-an-id",
        seed.SALES_ETL_ID.upper(),
        seed.SALES_ETL_ID[:-1],
        seed.SALES_ETL_ID.replace("-", ""),  # ids are opaque: no normalising
    ],
)
def test_unknown_or_malformed_id_gets_400_not_404(api: Api, service_id: str) -> None:
    response = api.get(detail_path(service_id))

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationError"
    assert error["detail"][0].startswith("data_flow_service_id:")


def test_unknown_id_on_put_gets_400(api: Api) -> None:
    response = api.put(detail_path("2a9be312-5d4b-4bc8-b2ae-35100fa9241f"), json={})

    assert response.status_code == 400


def test_sub_versions_name_the_registry_nifiregistry(api: Api) -> None:
    response = api.get(f"/v1/data-flow-services/data-flows/{seed.PROD_DATA_FLOW_ID}/sub-versions")

    assert response.status_code == 200
    assert response.json() == {
        "data_flow_service_count": 2,
        "versions": {"nifi": "1.27.1", "nifiregistry": "1.27.1", "zookeeper": "3.9.2"},
    }


def test_ml_features_runs_older_versions_than_its_data_flow_offers(api: Api) -> None:
    detail = api.get(detail_path(seed.ML_FEATURES_ID)).json()
    offered = api.get(
        f"/v1/data-flow-services/data-flows/{detail['data_flow_id']}/sub-versions"
    ).json()["versions"]

    assert detail["service_workload"]["nifi"]["version"] == "1.25.0"
    assert offered["nifi"] == "1.27.1"


@pytest.mark.parametrize("data_flow_id", ["2a9be312-5d4b-4bc8-b2ae-35100fa9241f", "nope"])
def test_sub_versions_of_an_unknown_data_flow_get_400(api: Api, data_flow_id: str) -> None:
    response = api.get(f"/v1/data-flow-services/data-flows/{data_flow_id}/sub-versions")

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationError"


def workload(nifi_cpu: str, nifi_replica: str) -> dict[str, dict[str, str]]:
    """A full workload request with a chosen NiFi size."""
    return {
        "nifi": {"cpu": nifi_cpu, "memory": "4096", "replica": nifi_replica, "version": "1.27.1"},
        "nifi_registry": {"cpu": "1000", "memory": "2048", "replica": "1", "version": "1.27.1"},
        "zookeeper": {"cpu": "500", "memory": "1024", "replica": "3", "version": "3.9.2"},
    }


def test_workload_within_capacity_validates_in_capacity_mode(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(precheck="capacity")

    response = api.post(
        f"{detail_path(seed.SALES_ETL_ID)}/validate-resources",
        json={"service_workload": workload("4000", "2")},
    )

    assert response.status_code == 200
    assert response.json() == {"result": True, "err_code": "", "cpu": "48000", "memory": "98304"}


def test_workload_beyond_capacity_reports_insufficient_resources_in_capacity_mode(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(precheck="capacity")

    response = api.post(
        f"{detail_path(seed.SALES_ETL_ID)}/validate-resources",
        json={"service_workload": workload("16000", "3")},
    )

    assert response.status_code == 200
    assert response.json()["result"] is False
    assert response.json()["err_code"] == "InsufficientResources"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"service_workload": ""},
        {"service_workload": {"nifi": {"cpu": 2000}}},
        {"service_workload": {"nifi": {"cpu": "2 cores"}}},
        {"service_workload": {"nifi": "big"}},
        {"service_workload": {}, "extra": 1},
    ],
)
def test_invalid_validate_resources_body_gets_400(api: Api, body: dict) -> None:
    response = api.post(f"{detail_path(seed.SALES_ETL_ID)}/validate-resources", json=body)

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationError"
