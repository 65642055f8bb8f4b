"""Control endpoints, the request log and persistence across a restart."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
import requests

from console.simulator import seed
from console.simulator.server import start_in_thread
from console.simulator.state import StateError
from tests.simulator.helpers import Api
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

LIST = "/v1/data-flow-services"
SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"


def test_request_log_records_each_api_call(api: Api, scp_simulator: SimulatorHandle) -> None:
    api.get(LIST, params={"page": 0, "size": 20})
    api.put(SALES, json={"description": "logged"})

    first, second = scp_simulator.requests()

    assert first["method"] == "GET"
    assert first["url"] == f"{scp_simulator.url}{LIST}?page=0&size=20"
    assert first["path"] == LIST
    assert first["query"] == {"page": "0", "size": "20"}
    assert first["headers"]["Scp-Accesskey"] == scp_simulator.access_key
    assert first["body"] is None
    assert (first["status"], first["verdict"]) == (200, "ok")
    assert second["method"] == "PUT"
    assert second["body"] == {"description": "logged"}
    assert second["status"] == 202


def test_request_log_keeps_a_body_that_is_not_json_as_text(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.put(SALES, data="not json", headers={"Content-Type": "application/json"})

    (entry,) = scp_simulator.requests()
    assert entry["body"] == "not json"
    assert (entry["status"], entry["verdict"]) == (400, "invalid json")


def test_request_log_ignores_control_and_unknown_calls(scp_simulator: SimulatorHandle) -> None:
    scp_simulator.services()
    requests.get(scp_simulator.url + "/healthz", timeout=5)

    assert scp_simulator.requests() == []


def test_request_log_can_be_cleared(api: Api, scp_simulator: SimulatorHandle) -> None:
    api.get(LIST)

    scp_simulator.clear_requests()

    assert scp_simulator.requests() == []


def test_reset_reseeds_services_and_clears_faults_and_log(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.add_service(data_flow_service_name="temporary")
    api.put(SALES, json={"description": "changed"})
    scp_simulator.fault(latency=1)

    scp_simulator.reset()

    assert len(scp_simulator.services()) == 5
    assert scp_simulator.faults() == {"global": {}, "services": {}}
    assert scp_simulator.requests() == []
    assert api.get(SALES).json()["description"] == "매출 주문 데이터 ETL (ERP → DWH)"


def test_added_service_gets_defaults_and_appears_in_the_api(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    detail = scp_simulator.add_service(
        data_flow_service_name="orders-cdc",
        domain="orders",
        host_alias={
            "enabled": "true",
            "host_alias_list": [{"hostname": "pg.orders.internal", "ip": "10.1.1.1"}],
        },
        service_workload={"nifi": {"replica": "2"}},
    )

    service_id = detail["data_flow_service_id"]
    assert str(uuid.UUID(service_id)) == service_id  # a fresh dashed UUID
    assert detail["state"] == "RUNNING"
    assert detail["data_flow_id"] == seed.PROD_DATA_FLOW_ID
    assert detail["web_url_nifi"] == "https://orders-cdc.orders.dataflow.test/nifi/"
    assert detail["service_workload"]["nifi"]["replica"] == "2"
    assert detail["service_workload"]["nifi"]["version"] == "1.27.1"
    assert api.get(f"{LIST}/{service_id}").json() == detail
    assert api.get(LIST).json()["total_count"] == 6


def test_added_service_may_run_an_old_version_in_any_state(
    scp_simulator: SimulatorHandle,
) -> None:
    detail = scp_simulator.add_service(
        data_flow_service_id="legacy-cdc-01",
        data_flow_id=seed.BATCH_DATA_FLOW_ID,
        state="STOPPED",
        service_workload={"nifi": {"version": "1.23.2"}},
    )

    assert detail["data_flow_service_id"] == "legacy-cdc-01"
    assert detail["state"] == "STOPPED"
    assert detail["version"] == "1.23.2"


@pytest.mark.parametrize(
    "fields",
    [
        {"data_flow_service_id": ""},
        {"data_flow_service_id": 42},
        {"data_flow_service_id": "a/b"},
        {"data_flow_service_id": "two words"},
        {"data_flow_service_id": seed.SALES_ETL_ID},
        {"data_flow_id": "2a9be312-5d4b-4bc8-b2ae-35100fa9241f"},
        {"state": "SLEEPING"},
        {"domain": 5},
        {"host_alias": {"enabled": "yes"}},
        {"service_workload": {"nifi": {"cpu": 1}}},
        {"favourite_colour": "blue"},
    ],
)
def test_add_service_refuses_bad_fields(scp_simulator: SimulatorHandle, fields: dict) -> None:
    with pytest.raises(SimulatorControlError):
        scp_simulator.add_service(**fields)


def test_internal_records_show_everything_but_the_password(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.put(SALES, json={"account": {"account_password": "Fresh!Pass1"}, "description": "p"})

    record = scp_simulator.service(seed.SALES_ETL_ID)

    assert record["state"] == "UPDATING"
    assert record["pending"]["config"]["description"] == "p"
    assert record["pending"]["outcome"] == "succeed"
    text = json.dumps(scp_simulator.services())
    assert "account_password" not in text
    assert "Fresh!Pass1" not in text
    assert seed.DEMO_PASSWORDS["salesadmin"] not in text


def test_set_state_forces_a_state(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_state(seed.SALES_ETL_ID, "UPDATING")

    assert api.get(SALES).json()["state"] == "UPDATING"
    time.sleep(0.6)
    assert api.get(SALES).json()["state"] == "UPDATING"  # nothing pending: it stays


def test_set_state_refuses_unknown_states_and_services(scp_simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError):
        scp_simulator.set_state(seed.SALES_ETL_ID, "NAPPING")
    with pytest.raises(SimulatorControlError):
        scp_simulator.set_state("2a9be312-5d4b-4bc8-b2ae-35100fa9241f", "RUNNING")


def test_a_change_in_scp_console_applies_at_once_and_moves_modified_dt(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    before = api.get(SALES).json()

    scp_simulator.change_in_scp_console(
        seed.SALES_ETL_ID,
        modified_by="kim.dev",
        service_workload={"nifi": {"memory": "3072"}},
        description="set in the SCP console",
    )

    after = api.get(SALES).json()
    assert after["state"] == "RUNNING"
    assert after["service_workload"]["nifi"]["memory"] == "3072"
    assert after["service_workload"]["nifi"]["cpu"] == before["service_workload"]["nifi"]["cpu"]
    assert after["description"] == "set in the SCP console"
    assert after["modified_dt"] > before["modified_dt"]
    assert after["modified_by"] == "kim.dev"
    assert "modified_by" not in before


def test_an_update_through_the_api_clears_who_changed_it_in_scp_console(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.change_in_scp_console(seed.SALES_ETL_ID, modified_by="kim.dev", description="x")

    api.put(SALES, json={"description": "through the API"})
    time.sleep(0.7)

    assert "modified_by" not in api.get(SALES).json()


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"modified_by": "kim.dev"},
        {"description": 5},
        {"service_workload": {"nifi": {"memory": 3072}}},
        {"colour": "blue"},
        {"description": "x", "modified_by": ""},
    ],
)
def test_a_change_in_scp_console_refuses_bad_fields(
    scp_simulator: SimulatorHandle, fields: dict
) -> None:
    with pytest.raises(SimulatorControlError, match="400"):
        scp_simulator.change_in_scp_console(seed.SALES_ETL_ID, **fields)


def test_a_change_in_scp_console_is_refused_while_an_update_runs(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.put(SALES, json={"description": "updating"})

    with pytest.raises(SimulatorControlError, match="409"):
        scp_simulator.change_in_scp_console(seed.SALES_ETL_ID, description="meanwhile")


def test_data_flows_show_versions_and_capacity(scp_simulator: SimulatorHandle) -> None:
    flows = {flow["data_flow_name"]: flow for flow in scp_simulator.data_flows()}

    assert set(flows) == {"dataflow-prod", "dataflow-batch", "dataflow-analytics"}
    assert flows["dataflow-prod"]["capacity"] == {"cpu": 48000, "memory": 98304}


def test_services_and_pending_updates_survive_a_restart(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    first = start_in_thread(state_path=state_path, update_delay=0.3)
    try:
        handle = SimulatorHandle(first)
        added = handle.add_service(data_flow_service_name="survivor")
        api = Api(first.url, access_key=handle.access_key, secret_key=handle.secret_key)
        assert api.put(SALES, json={"description": "after restart"}).status_code == 202
    finally:
        first.stop()

    second = start_in_thread(state_path=state_path, update_delay=0.3)
    try:
        api = Api(second.url, access_key=handle.access_key, secret_key=handle.secret_key)
        listed = api.get(LIST).json()
        detail = api.wait_until_settled(seed.SALES_ETL_ID)
    finally:
        second.stop()

    assert listed["total_count"] == 6
    assert added["data_flow_service_id"] in {i["data_flow_service_id"] for i in listed["contents"]}
    assert detail["state"] == "RUNNING"
    assert detail["description"] == "after restart"


def test_state_file_is_written_whole(scp_simulator: SimulatorHandle) -> None:
    scp_simulator.add_service(data_flow_service_name="written")

    state = json.loads(scp_simulator.state_path.read_text(encoding="utf-8"))

    assert state["format"] == 1
    assert len(state["services"]) == 6
    assert not list(scp_simulator.state_path.parent.glob(".state-*"))


def test_unknown_control_endpoint_is_404(scp_simulator: SimulatorHandle) -> None:
    response = requests.get(scp_simulator.url + "/_simulator/nothing", timeout=5)

    assert response.status_code == 404


def test_a_state_file_that_is_not_simulator_state_is_refused_clearly(tmp_path: Path) -> None:
    state_path = tmp_path / "state.json"
    state_path.write_text("{not json", encoding="utf-8")

    with pytest.raises(StateError, match="--reset"):
        start_in_thread(state_path=state_path)
