"""`GET /v1/data-flow-services`: paging, sorting and filters as SCP documents them."""

from __future__ import annotations

import pytest
import requests

from console.simulator import seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorHandle

LIST = "/v1/data-flow-services"
ITEM_FIELDS = {
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
}


def names(response: requests.Response) -> list[str]:
    """The service names of a list response, in order."""
    return [item["data_flow_service_name"] for item in response.json()["contents"]]


def test_list_items_carry_scp_field_names(api: Api) -> None:
    body = api.get(LIST).json()

    assert set(body) == {"contents", "total_count"}
    assert body["total_count"] == 5
    for item in body["contents"]:
        assert set(item) == ITEM_FIELDS
        assert "id" not in item


def test_default_order_is_newest_first(api: Api) -> None:
    response = api.get(LIST)

    assert names(response) == [
        "iot-ingest",
        "sales-etl",
        "finance-batch",
        "log-archive",
        "ml-features",
    ]


def test_seeded_services_are_in_different_states(api: Api) -> None:
    states = {
        item["data_flow_service_name"]: item["state"] for item in api.get(LIST).json()["contents"]
    }

    assert states == {
        "sales-etl": "RUNNING",
        "iot-ingest": "RUNNING",
        "finance-batch": "ERROR",
        "log-archive": "STOPPED",
        "ml-features": "RUNNING",
    }


def test_pages_are_cut_by_size_and_total_count_counts_all(api: Api) -> None:
    pages = [
        api.get(LIST, params={"page": page, "size": 2, "sort": "data_flow_service_name:asc"})
        for page in range(4)
    ]

    assert [names(page) for page in pages] == [
        ["finance-batch", "iot-ingest"],
        ["log-archive", "ml-features"],
        ["sales-etl"],
        [],
    ]
    assert {page.json()["total_count"] for page in pages} == {5}


def test_sort_descending_by_name(api: Api) -> None:
    response = api.get(LIST, params={"sort": "data_flow_service_name:desc"})

    assert names(response)[0] == "sales-etl"
    assert names(response)[-1] == "finance-batch"


def test_state_filter_is_case_insensitive(api: Api) -> None:
    assert names(api.get(LIST, params={"state": "Running"})) == [
        "iot-ingest",
        "sales-etl",
        "ml-features",
    ]
    assert names(api.get(LIST, params={"state": "ERROR"})) == ["finance-batch"]


def test_name_filter_matches_a_substring(api: Api) -> None:
    response = api.get(LIST, params={"data_flow_service_name": "-e"})

    assert sorted(names(response)) == ["sales-etl"]
    assert response.json()["total_count"] == 1


def test_korean_name_filter_is_decoded_from_the_signed_query(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.add_service(data_flow_service_name="매출-집계")
    scp_simulator.clear_requests()

    response = api.get(LIST, params={"data_flow_service_name": "매출", "page": 0})

    assert response.status_code == 200
    assert names(response) == ["매출-집계"]
    (entry,) = scp_simulator.requests()
    assert "%EB%A7%A4%EC%B6%9C" in entry["url"]
    assert entry["query"]["data_flow_service_name"] == "매출"


def test_data_flow_name_and_created_by_filters(api: Api) -> None:
    assert names(api.get(LIST, params={"data_flow_name": "dataflow-batch"})) == [
        "finance-batch",
        "log-archive",
    ]
    assert names(api.get(LIST, params={"created_by": "seoyeon.park"})) == ["iot-ingest"]
    assert api.get(LIST, params={"created_by": "nobody"}).json() == {
        "contents": [],
        "total_count": 0,
    }


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"page": "-1"}, "page"),
        ({"page": "one"}, "page"),
        ({"size": "0"}, "size"),
        ({"size": "20.5"}, "size"),
        ({"size": "100000"}, "size"),
        ({"sort": "name:asc"}, "sort"),
        ({"sort": "created_dt:up"}, "sort"),
        ({"state": "SLEEPING"}, "state"),
    ],
)
def test_invalid_list_parameters_get_400(api: Api, params: dict[str, str], field: str) -> None:
    response = api.get(LIST, params=params)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationError"
    assert any(message.startswith(f"{field}:") for message in error["detail"])


def test_list_shows_a_seeded_id(api: Api) -> None:
    ids = {item["data_flow_service_id"] for item in api.get(LIST).json()["contents"]}

    assert seed.SALES_ETL_ID in ids
