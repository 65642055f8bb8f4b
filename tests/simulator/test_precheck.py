"""`POST .../validate-resources` answers as SCP documents it, or as the `precheck` switch says."""

from __future__ import annotations

from typing import Any

import pytest

from console.simulator import seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

SALES_CHECK = f"/v1/data-flow-services/{seed.SALES_ETL_ID}/validate-resources"
IOT_CHECK = f"/v1/data-flow-services/{seed.IOT_INGEST_ID}/validate-resources"
DOCUMENTED = {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": ""}
HUGE = {"service_workload": {"nifi": {"cpu": "60000", "replica": "10"}}}
SMALL = {"service_workload": {"nifi": {"memory": "4096"}}}


def test_documented_answer_by_default(api: Api) -> None:
    response = api.post(SALES_CHECK, json=HUGE)  # far beyond the cluster: still no verdict

    assert response.status_code == 200
    assert response.json() == DOCUMENTED


@pytest.mark.parametrize(
    ("mode", "answer"),
    [
        ("documented", DOCUMENTED),
        (
            "no",
            {"cpu": "CPU", "err_code": "NotEnoughResource", "memory": "Memory", "result": "false"},
        ),
        ("yes", {"cpu": "CPU", "err_code": "", "memory": "Memory", "result": "true"}),
    ],
)
def test_precheck_switch_chooses_the_answer(
    api: Api, scp_simulator: SimulatorHandle, mode: str, answer: dict[str, str]
) -> None:
    scp_simulator.fault(precheck=mode)

    assert api.post(SALES_CHECK, json=SMALL).json() == answer


def test_capacity_mode_compares_with_the_cluster(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(precheck="capacity")

    fits = api.post(SALES_CHECK, json=SMALL).json()
    too_big = api.post(SALES_CHECK, json=HUGE).json()

    assert fits == {"result": True, "err_code": "", "cpu": "48000", "memory": "98304"}
    assert too_big["result"] is False and too_big["err_code"] == "InsufficientResources"


def test_precheck_switch_can_target_one_service(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(seed.IOT_INGEST_ID, precheck="no")

    assert api.post(SALES_CHECK, json=SMALL).json() == DOCUMENTED
    assert api.post(IOT_CHECK, json=SMALL).json()["result"] == "false"


def test_body_shape_is_still_checked_in_documented_mode(api: Api) -> None:
    response = api.post(SALES_CHECK, json={"service_workload": {"nifi": {"cpu": 2000}}})

    assert response.status_code == 400
    assert error_of(response)["detail"] == [
        "service_workload.nifi.cpu: must be a string, got number"
    ]


def test_unknown_precheck_mode_is_refused(scp_simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="precheck"):
        scp_simulator.fault(precheck="maybe")


@pytest.mark.parametrize("mode", ["documented", "capacity"])
def test_guess_rules_reach_the_precheck_only_when_switched_on(
    api: Api, scp_simulator: SimulatorHandle, mode: str
) -> None:
    scp_simulator.fault(precheck=mode)
    body: dict[str, Any] = {"service_workload": {"zookeeper": {"replica": "2"}}}

    assert api.post(SALES_CHECK, json=body).status_code == 200
    scp_simulator.fault(guess_rules=True)
    assert api.post(SALES_CHECK, json=body).status_code == 400
