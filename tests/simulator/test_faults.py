"""Fault switches make the simulator fail, stall or finish updates badly, on demand."""

from __future__ import annotations

import time

import pytest
import requests

from console.simulator import seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

LIST = "/v1/data-flow-services"
SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"
IOT = f"/v1/data-flow-services/{seed.IOT_INGEST_ID}"


def test_fail_next_fails_that_many_calls_then_recovers(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(fail_next=2)

    statuses = [api.get(LIST).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


def test_injected_503_uses_the_gateway_envelope(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(fail_next=1)

    body = api.get(LIST).json()

    assert set(body) == {"timestamp", "path", "status", "error", "requestId"}
    assert body["status"] == 503
    assert body["error"] == "Service Unavailable"


def test_injected_500_is_scp_contact_admin_error(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(fail_next=1, fail_status=500)

    response = api.get(SALES)

    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "ContactAdminForAssistance"
    assert "Support Center" in error["detail"]


@pytest.mark.parametrize("status", [502, 504, 429])
def test_other_gateway_failures_can_be_injected(
    api: Api, scp_simulator: SimulatorHandle, status: int
) -> None:
    scp_simulator.fault(fail_next=1, fail_status=status)

    response = api.get(LIST)

    assert response.status_code == status
    assert response.json()["status"] == status
    assert ("Retry-After" in response.headers) == (status == 429)


def test_service_fault_hits_only_that_service(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(service_id=seed.SALES_ETL_ID, fail_next=1)

    assert api.get(IOT).status_code == 200
    assert api.get(LIST).status_code == 200
    assert api.get(SALES).status_code == 503
    assert api.get(SALES).status_code == 200


def test_latency_delays_every_answer(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(latency=0.3)

    started = time.monotonic()
    response = api.get(LIST)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_hang_outlasts_a_client_timeout_once(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(hang=3)

    with pytest.raises(requests.exceptions.ReadTimeout):
        api.get(LIST, timeout=0.3)
    assert api.get(LIST).status_code == 200


def test_hang_ends_with_a_dropped_connection_and_the_call_not_processed(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(hang=0.2, hang_next=1)

    with pytest.raises(requests.exceptions.ConnectionError):
        api.put(SALES, json={"description": "lost"})

    assert api.get(SALES).json()["state"] == "RUNNING"
    assert api.get(SALES).json()["description"] != "lost"
    assert scp_simulator.requests()[0]["verdict"] == "injected hang"


def test_update_outcome_error_leaves_config_and_flags_the_failure(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(service_id=seed.SALES_ETL_ID, update_outcome="error")
    before = api.get(SALES).json()

    assert api.put(SALES, json={"description": "never applied"}).status_code == 202
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert after["state"] == "ERROR"
    assert after["cluster_request_failed"] is True
    assert after["description"] == before["description"]


def test_partial_outcome_keeps_old_workloads_when_they_changed(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(update_outcome="partial")
    before = api.get(SALES).json()

    api.put(
        SALES,
        json={"description": "bigger", "service_workload": {"nifi": {"replica": "3"}}},
    )
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert after["state"] == "RUNNING"
    assert after["description"] == "bigger"
    assert after["service_workload"] == before["service_workload"]


def test_partial_outcome_keeps_old_host_aliases_when_workloads_did_not_change(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(update_outcome="partial")
    before = api.get(SALES).json()

    api.put(
        SALES,
        json={
            "description": "new aliases",
            "host_alias": {
                "enabled": "true",
                "host_alias_list": [{"hostname": "new.corp.internal", "ip": "10.10.9.9"}],
            },
        },
    )
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert after["state"] == "RUNNING"
    assert after["description"] == "new aliases"
    assert after["host_alias"]["host_alias_list"] == before["host_alias"]["host_alias_list"]


def test_update_delay_switch_overrides_the_server_delay(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(service_id=seed.SALES_ETL_ID, update_delay=0)

    api.put(SALES, json={"description": "instant"})

    assert api.get(SALES).json()["state"] == "RUNNING"
    assert api.get(SALES).json()["description"] == "instant"


def test_long_update_delay_keeps_the_service_updating(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(update_delay=60)

    api.put(SALES, json={"description": "slow"})
    time.sleep(0.7)

    assert api.get(SALES).json()["state"] == "UPDATING"
    assert scp_simulator.service(seed.SALES_ETL_ID)["pending"]["config"]["description"] == "slow"


def test_ignore_size_answers_ten_per_page(api: Api, scp_simulator: SimulatorHandle) -> None:
    for n in range(7):
        scp_simulator.add_service(data_flow_service_name=f"extra-{n}")
    scp_simulator.fault(ignore_size=True)

    first = api.get(LIST, params={"page": 0, "size": 5}).json()
    second = api.get(LIST, params={"page": 1, "size": 5}).json()

    assert first["total_count"] == second["total_count"] == 12
    assert len(first["contents"]) == 10
    assert len(second["contents"]) == 2


def test_faults_can_be_read_and_cleared(scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(latency=0.1)
    scp_simulator.fault(service_id=seed.SALES_ETL_ID, fail_next=2, fail_status=500)

    assert scp_simulator.faults() == {
        "global": {"latency": 0.1},
        "services": {seed.SALES_ETL_ID: {"fail_next": 2, "fail_status": 500}},
    }
    scp_simulator.clear_faults()
    assert scp_simulator.faults() == {"global": {}, "services": {}}


@pytest.mark.parametrize(
    "switches",
    [
        {"fail_status": 418, "fail_next": 1},
        {"latency": -1},
        {"fail_next": "2"},
        {"update_outcome": "maybe"},
        {"ignore_size": "yes"},
        {"explode": True},
        {"service_id": "2a9be312-5d4b-4bc8-b2ae-35100fa9241f", "fail_next": 1},
    ],
)
def test_malformed_fault_switches_are_refused(
    scp_simulator: SimulatorHandle, switches: dict
) -> None:
    with pytest.raises(SimulatorControlError):
        scp_simulator.fault(**switches)


def test_the_edge_limit_answers_417_html_past_its_count(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(edge_limit=3)

    answers = [api.get(LIST) for _ in range(5)]

    assert [a.status_code for a in answers] == [200, 200, 200, 417, 417]
    refused = answers[3]
    assert refused.headers["Content-Type"].startswith("text/html")
    assert "<title>Request Rejected</title>" in refused.text
    assert "support ID is:" in refused.text
    verdicts = [r["verdict"] for r in scp_simulator.requests()]
    assert verdicts[-1] == "edge: request rejected (throttled)"


def test_the_edge_lets_requests_through_again_once_its_window_has_moved(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(edge_limit=2, edge_window=0.5)
    assert [api.get(LIST).status_code for _ in range(3)] == [200, 200, 417]

    time.sleep(0.6)

    assert api.get(LIST).status_code == 200


def test_the_edge_counts_the_version_list_too_and_clearing_faults_lifts_it(
    scp_simulator: SimulatorHandle,
) -> None:
    scp_simulator.fault(edge_limit=1)
    assert requests.get(scp_simulator.url + "/", timeout=5).status_code == 200
    assert requests.get(scp_simulator.url + "/", timeout=5).status_code == 417

    scp_simulator.clear_faults()

    assert requests.get(scp_simulator.url + "/", timeout=5).status_code == 200


def test_retry_after_goes_with_an_injected_failure(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(fail_next=2, fail_status=503, retry_after=120)

    first, second = api.get(LIST), api.get(LIST)

    assert first.status_code == 503 and first.headers["Retry-After"] == "120"
    assert second.status_code == 503
    assert api.get(LIST).status_code == 200


@pytest.mark.parametrize(
    "switches",
    [{"edge_limit": 0}, {"edge_limit": True}, {"edge_window": -1}, {"retry_after": "soon"}],
)
def test_edge_and_retry_switches_refuse_nonsense(
    scp_simulator: SimulatorHandle, switches: dict
) -> None:
    with pytest.raises(SimulatorControlError):
        scp_simulator.fault(**switches)


def test_the_edge_limit_is_global_only(scp_simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="without service_id"):
        scp_simulator.fault(service_id=seed.SALES_ETL_ID, edge_limit=5)
