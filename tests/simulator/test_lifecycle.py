"""An update's life as SCP shows it: the start delay, the failure flag and lost answers."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import requests

from console.simulator import seed
from console.simulator.server import start_in_thread
from tests.simulator.helpers import Api
from tests.simulator_fixture import SimulatorHandle

LIST = "/v1/data-flow-services"
SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"
FINANCE = f"/v1/data-flow-services/{seed.FINANCE_BATCH_ID}"
MORE_MEMORY = {"service_workload": {"nifi": {"memory": "16384"}}}


def states_until_settled(api: Api, path: str, *, timeout: float = 6) -> list[dict[str, Any]]:
    """Every detail read every 0.05 s until the service is RUNNING or ERROR after UPDATING."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        detail = api.get(path).json()
        seen.append(detail)
        updating_seen = any(d["state"] == "UPDATING" for d in seen)
        if updating_seen and detail["state"] in ("RUNNING", "ERROR"):
            return seen
        time.sleep(0.05)
    raise AssertionError(f"never settled: {[d['state'] for d in seen]}")


def list_item(api: Api, service_id: str) -> dict[str, Any]:
    """One service as the list shows it."""
    items = api.get(LIST, params={"size": 100}).json()["contents"]
    (item,) = [i for i in items if i["data_flow_service_id"] == service_id]
    return item


# ---- cluster_request_failed ---------------------------------------------------------------


def test_repair_of_the_failed_demo_service_keeps_the_flag_until_it_finishes(api: Api) -> None:
    assert api.get(FINANCE).json()["cluster_request_failed"] is True

    assert api.put(FINANCE, json=MORE_MEMORY).status_code == 202
    seen = states_until_settled(api, FINANCE)

    updating = [d for d in seen if d["state"] == "UPDATING"]
    assert updating and all(d["cluster_request_failed"] is True for d in updating)
    assert seen[-1]["state"] == "RUNNING"
    assert seen[-1]["cluster_request_failed"] is False
    assert seen[-1]["service_workload"]["nifi"]["memory"] == "16384"


def test_failed_update_sets_the_flag_and_the_next_update_starts_with_it(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(seed.SALES_ETL_ID, update_outcome="error")
    api.put(SALES, json={"description": "breaks"})
    failed = api.wait_until_settled(seed.SALES_ETL_ID)
    assert (failed["state"], failed["cluster_request_failed"]) == ("ERROR", True)

    scp_simulator.clear_faults()
    api.put(SALES, json={"description": "repairs"})
    during = api.get(SALES).json()
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert (during["state"], during["cluster_request_failed"]) == ("UPDATING", True)
    assert (after["state"], after["cluster_request_failed"]) == ("RUNNING", False)


# ---- start delay --------------------------------------------------------------------------


def test_old_state_shows_exactly_during_the_start_delay(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(start_delay=0.6)
    before_detail = api.get(FINANCE).json()
    before_item = list_item(api, seed.FINANCE_BATCH_ID)

    answer = api.put(FINANCE, json=MORE_MEMORY)
    during_detail = api.get(FINANCE).json()
    during_item = list_item(api, seed.FINANCE_BATCH_ID)

    assert answer.status_code == 202
    assert answer.json()["state"] == "ERROR"  # what a GET shows at that moment
    assert during_detail == before_detail
    assert during_item == before_item
    seen = states_until_settled(api, FINANCE)
    states = [d["state"] for d in seen]
    assert states[0] == "ERROR" and "UPDATING" in states and states[-1] == "RUNNING"
    assert seen[-1]["service_workload"]["nifi"]["memory"] == "16384"


def test_updating_lasts_update_delay_after_the_start(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(start_delay=0.4, update_delay=0.4)

    api.put(SALES, json={"description": "later"})
    time.sleep(0.2)
    first = api.get(SALES).json()
    time.sleep(0.4)
    second = api.get(SALES).json()
    time.sleep(0.4)
    third = api.get(SALES).json()

    assert (first["state"], first["description"]) == ("RUNNING", "매출 주문 데이터 ETL (ERP → DWH)")
    assert (second["state"], second["description"]) == ("UPDATING", first["description"])
    assert (third["state"], third["description"]) == ("RUNNING", "later")
    assert second["modified_dt"] > first["modified_dt"]


def test_put_in_the_start_window_replaces_the_pending_update(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(start_delay=0.5)

    assert api.put(SALES, json={"description": "first"}).status_code == 202
    assert api.put(SALES, json={"domain": "sales-kr"}).status_code == 202
    pending = scp_simulator.service(seed.SALES_ETL_ID)["pending"]
    after = states_until_settled(api, SALES)[-1]

    assert after["domain"] == "sales-kr"
    assert pending["config"]["domain"] == "sales-kr"
    assert "starts_dt" in pending
    assert after["description"] == "매출 주문 데이터 ETL (ERP → DWH)"  # the first was replaced


def test_put_while_updating_after_the_start_is_refused(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(start_delay=0.2, update_delay=2)
    api.put(SALES, json={"description": "first"})
    time.sleep(0.4)

    assert api.get(SALES).json()["state"] == "UPDATING"
    assert api.put(SALES, json={"description": "second"}).status_code == 400


def test_start_delay_of_the_simulator_itself(tmp_path: Path) -> None:
    running = start_in_thread(state_path=tmp_path / "s.json", update_delay=0.2, start_delay=0.4)
    try:
        handle = SimulatorHandle(running)
        api = Api(running.url, access_key=handle.access_key, secret_key=handle.secret_key)
        answer = api.put(SALES, json={"description": "x"}).json()
        assert answer["state"] == "RUNNING"
        assert api.get(SALES).json()["state"] == "RUNNING"
        time.sleep(0.5)
        assert api.get(SALES).json()["state"] == "UPDATING"
    finally:
        running.stop()


def test_without_start_delay_the_202_says_updating(api: Api) -> None:
    assert api.put(SALES, json={"description": "now"}).json()["state"] == "UPDATING"


# ---- applied, answer lost -----------------------------------------------------------------


def test_lost_answer_is_applied_once_and_never_answered(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(lose_answer_next=1)

    with pytest.raises(requests.ConnectionError):
        api.put(SALES, json=MORE_MEMORY)
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert after["state"] == "RUNNING"
    assert after["service_workload"]["nifi"]["memory"] == "16384"
    (entry,) = scp_simulator.applied_puts(seed.SALES_ETL_ID)
    assert entry["verdict"] == "applied, answer lost"
    assert entry["applied"] is True
    assert scp_simulator.faults()["global"]["lose_answer_next"] == 0


def test_only_the_next_accepted_put_loses_its_answer(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(seed.SALES_ETL_ID, lose_answer_next=1)

    refused = api.put(SALES, json={"domain": "Bad"})  # refused: answered, counter kept
    other = api.put(FINANCE, json={"description": "other service"})
    with pytest.raises(requests.ConnectionError):
        api.put(SALES, json={"description": "lost"})
    api.wait_until_settled(seed.SALES_ETL_ID)
    answered = api.put(SALES, json={"description": "answered"})

    assert refused.status_code == 400
    assert other.status_code == 202 and answered.status_code == 202
    puts = [e for e in scp_simulator.requests() if e["method"] == "PUT"]
    assert [(e["status"], e["applied"]) for e in puts] == [
        (400, False),
        (202, True),
        (0, True),
        (202, True),
    ]
    assert len(scp_simulator.applied_puts()) == 3
    assert [e["body"] for e in scp_simulator.applied_puts(seed.SALES_ETL_ID)] == [
        {"description": "lost"},
        {"description": "answered"},
    ]


def test_503_twice_then_a_lost_202_applies_exactly_once(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.fault(seed.SALES_ETL_ID, fail_next=2, lose_answer_next=1)

    statuses = [api.put(SALES, json=MORE_MEMORY).status_code for _ in range(2)]
    with pytest.raises(requests.ConnectionError):
        api.put(SALES, json=MORE_MEMORY)

    assert statuses == [503, 503]
    assert len(scp_simulator.applied_puts(seed.SALES_ETL_ID)) == 1
    assert api.get(SALES).json()["state"] == "UPDATING"


def test_every_put_log_entry_says_whether_it_was_applied(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.get(SALES)
    api.put(SALES, json={"description": "ok"})
    api.put(SALES, json={"description": "busy"})

    get, accepted, busy = scp_simulator.requests()

    assert "applied" not in get
    assert (accepted["applied"], busy["applied"]) == (True, False)
