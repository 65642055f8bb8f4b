"""`PUT /v1/data-flow-services/{id}`: validation, the 202 answer and the update's life."""

from __future__ import annotations

import json
from typing import Any

import pytest

from console.simulator import seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorHandle

SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"
IOT = f"/v1/data-flow-services/{seed.IOT_INGEST_ID}"
ML = f"/v1/data-flow-services/{seed.ML_FEATURES_ID}"
FINANCE = f"/v1/data-flow-services/{seed.FINANCE_BATCH_ID}"

NEW_WORKLOAD = {
    "nifi": {"cpu": "6000", "memory": "12288", "replica": "3", "version": "1.27.1"},
    "nifi_registry": {"cpu": "1000", "memory": "2048", "replica": "1", "version": "1.27.1"},
    "zookeeper": {"cpu": "1000", "memory": "2048", "replica": "5", "version": "3.9.2"},
}
FULL_BODY: dict[str, Any] = {
    "account": {"account_id": "salesops", "account_password": "N3w!Password"},
    "description": "Orders into the warehouse",
    "domain": "sales-kr",
    "host_alias": {
        "enabled": "true",
        "host_alias_list": [
            {"hostname": "erp-db.corp.internal", "ip": "10.10.1.22"},
            {"hostname": "dwh.corp.internal", "ip": "2001:db8::40"},
        ],
    },
    "node_selector": "nodepool=dataflow-large",
    "service_workload": NEW_WORKLOAD,
}


def stored_password(scp_simulator: SimulatorHandle, service_id: str) -> str:
    """The password in the state file: no API shows it."""
    state = json.loads(scp_simulator.state_path.read_text(encoding="utf-8"))
    (service,) = [s for s in state["services"] if s["data_flow_service_id"] == service_id]
    return service["config"]["account_password"]


def test_accepted_update_answers_202_with_the_documented_quirks(api: Api) -> None:
    response = api.put(SALES, json=FULL_BODY)

    assert response.status_code == 202
    body = response.json()
    assert "account_id" not in body  # the detail adds it; the update response does not
    assert body["state"] == "UPDATING"
    assert body["service_workload"] == ""
    assert body["http_port"] == "8080" and body["https_port"] == "8443"
    assert body["account"] == {"account_id": "salesops", "account_password": "N3w!Password"}


def test_accepted_update_reflects_the_requested_values(api: Api) -> None:
    body = api.put(SALES, json=FULL_BODY).json()

    assert body["domain"] == "sales-kr"
    assert body["node_selector"] == "nodepool=dataflow-large"
    assert body["description"] == "Orders into the warehouse"
    assert body["host_alias"] == FULL_BODY["host_alias"]
    assert body["web_url_nifi"] == "https://sales-etl.sales-kr.dataflow.test/nifi/"
    assert "10.10.1.22\terp-db.corp.internal" in body["hosts_file"]


def test_service_shows_old_config_while_updating_and_new_config_after(api: Api) -> None:
    api.put(SALES, json=FULL_BODY)

    during = api.get(SALES).json()
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert during["state"] == "UPDATING"
    assert during["domain"] == "sales"
    assert after["state"] == "RUNNING"
    assert after["domain"] == "sales-kr"
    assert after["service_workload"] == NEW_WORKLOAD
    assert after["host_alias"] == FULL_BODY["host_alias"]
    assert after["account_id"] == "salesops"
    assert after["account"]["account_password"] == ""
    assert after["modified_dt"] > during["modified_dt"]


def test_new_password_is_stored_but_never_returned(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.put(SALES, json=FULL_BODY)
    detail = api.wait_until_settled(seed.SALES_ETL_ID)

    assert stored_password(scp_simulator, seed.SALES_ETL_ID) == "N3w!Password"
    assert "N3w!Password" not in json.dumps(detail)
    assert "N3w!Password" not in json.dumps(scp_simulator.service(seed.SALES_ETL_ID))


def test_fields_absent_from_the_body_keep_their_values(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    before = api.get(SALES).json()

    answer = api.put(SALES, json={"description": "only this"})
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert answer.json()["account"]["account_password"] == ""
    assert after["description"] == "only this"
    for key in ("domain", "node_selector", "host_alias", "service_workload", "account_id"):
        assert after[key] == before[key]
    assert stored_password(scp_simulator, seed.SALES_ETL_ID) == seed.DEMO_PASSWORDS["salesadmin"]


def test_one_component_field_merges_into_the_workload(api: Api) -> None:
    api.put(SALES, json={"service_workload": {"nifi": {"replica": "4"}}})
    after = api.wait_until_settled(seed.SALES_ETL_ID)

    assert after["service_workload"]["nifi"] == {
        "cpu": "4000",
        "memory": "8192",
        "replica": "4",
        "version": "1.27.1",
    }


def test_second_update_while_updating_is_refused(api: Api) -> None:
    assert api.put(SALES, json={"description": "first"}).status_code == 202

    response = api.put(SALES, json={"description": "second"})

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationError"
    assert "being updated" in error["detail"][0]


@pytest.mark.parametrize("state", ["UPDATING", "EDITING"])
def test_update_of_a_busy_service_is_refused(
    api: Api, scp_simulator: SimulatorHandle, state: str
) -> None:
    scp_simulator.set_state(seed.SALES_ETL_ID, state)

    assert api.put(SALES, json={"description": "x"}).status_code == 400


def test_update_is_accepted_again_once_running(api: Api) -> None:
    api.put(SALES, json={"description": "first"})
    api.wait_until_settled(seed.SALES_ETL_ID)

    assert api.put(SALES, json={"description": "second"}).status_code == 202


def test_update_of_a_failed_service_clears_its_failure(api: Api) -> None:
    assert api.put(FINANCE, json={"description": "retry"}).status_code == 202

    after = api.wait_until_settled(seed.FINANCE_BATCH_ID)

    assert after["state"] == "RUNNING"
    assert after["cluster_request_failed"] is False


def test_upgrade_to_the_offered_version_is_accepted(api: Api) -> None:
    response = api.put(ML, json={"service_workload": {"nifi": {"version": "1.27.1"}}})

    assert response.status_code == 202
    after = api.wait_until_settled(seed.ML_FEATURES_ID)
    assert after["service_workload"]["nifi"]["version"] == "1.27.1"
    assert after["version"] == "1.27.1"


def test_keeping_the_current_older_version_is_accepted(api: Api) -> None:
    response = api.put(ML, json={"service_workload": {"nifi": {"version": "1.25.0"}}})

    assert response.status_code == 202


def test_twenty_host_aliases_are_accepted(api: Api) -> None:
    current = api.get(IOT).json()["host_alias"]

    assert api.put(IOT, json={"host_alias": current}).status_code == 202


@pytest.mark.parametrize("raw", [b"{not json", b"", b"[1, 2", b'{"description": NaN}'])
def test_body_that_is_not_json_gets_400(api: Api, raw: bytes) -> None:
    response = api.put(SALES, data=raw, headers={"Content-Type": "application/json"})

    assert response.status_code == 400
    assert error_of(response)["code"] == "ValidationError"


def twenty_one_aliases() -> list[dict[str, str]]:
    """One more host alias than the user guide allows."""
    return [{"hostname": f"h{n}.example.internal", "ip": f"10.0.0.{n}"} for n in range(1, 22)]


GUESS_CASES = [
    ({"unknown_key": "x"}, "unknown_key"),
    ({"account": {"role": "admin"}}, "account.role"),
    ({"service_workload": {"kafka": {}}}, "service_workload.kafka"),
    ({"service_workload": {"nifi": {"cpu": "99"}}}, "service_workload.nifi.cpu"),
    ({"service_workload": {"nifi": {"cpu": "64001"}}}, "service_workload.nifi.cpu"),
    ({"service_workload": {"nifi": {"memory": "127"}}}, "service_workload.nifi.memory"),
    ({"service_workload": {"nifi": {"memory": "262145"}}}, "service_workload.nifi.memory"),
    ({"service_workload": {"nifi": {"replica": "0"}}}, "service_workload.nifi.replica"),
    ({"service_workload": {"nifi": {"replica": "11"}}}, "service_workload.nifi.replica"),
    (
        {"service_workload": {"zookeeper": {"replica": "2"}}},
        "service_workload.zookeeper.replica",
    ),
    ({"service_workload": {"nifi": {"version": "1.28.0"}}}, "service_workload.nifi.version"),
    (
        {"service_workload": {"nifi_registry": {"version": "1.25.0"}}},
        "service_workload.nifi_registry.version",
    ),
    ({"service_workload": {"nifi": {"disk": "10"}}}, "service_workload.nifi.disk"),
]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"account": "admin"}, "account"),
        ({"account": {"account_id": "short"}}, "account.account_id"),
        ({"account": {"account_id": "a" * 31}}, "account.account_id"),
        ({"account": {"account_id": 123456}}, "account.account_id"),
        ({"account": {"account_password": "Sh0rt!"}}, "account.account_password"),
        ({"account": {"account_password": "Aa1!" * 13}}, "account.account_password"),
        ({"account": {"account_password": "alllower1!"}}, "account.account_password"),
        ({"account": {"account_password": "ALLUPPER1!"}}, "account.account_password"),
        ({"account": {"account_password": "NoDigits!!"}}, "account.account_password"),
        ({"account": {"account_password": "NoSpecial12"}}, "account.account_password"),
        ({"account": {"account_password": ""}}, "account.account_password"),
        ({"description": "x" * 151}, "description"),
        ({"description": None}, "description"),
        ({"domain": "ab"}, "domain"),
        ({"domain": "a" * 51}, "domain"),
        ({"domain": "sales-"}, "domain"),
        ({"domain": "-sales"}, "domain"),
        ({"domain": "Sales"}, "domain"),
        ({"domain": "sales.kr"}, "domain"),
        ({"domain": "sales_kr"}, "domain"),
        ({"node_selector": ""}, "node_selector"),
        ({"node_selector": "   "}, "node_selector"),
        ({"host_alias": {"enabled": True}}, "host_alias.enabled"),
        ({"host_alias": {"enabled": "yes"}}, "host_alias.enabled"),
        ({"host_alias": {"host_alias_list": twenty_one_aliases()}}, "host_alias.host_alias_list"),
        ({"host_alias": {"host_alias_list": "10.0.0.1 a"}}, "host_alias.host_alias_list"),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "a.internal", "ip": "10.0.0.256"}]}},
            "host_alias.host_alias_list[0].ip",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "a.internal", "ip": "fe80::1%eth0"}]}},
            "host_alias.host_alias_list[0].ip",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "a.internal", "ip": ""}]}},
            "host_alias.host_alias_list[0].ip",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "Db.internal", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "*.internal", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "db.internal.", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "a" * 64 + ".x", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {
                "host_alias": {
                    "host_alias_list": [{"hostname": ("a" * 63 + ".") * 4 + "a", "ip": "10.0.0.1"}]
                }
            },
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "db_1.internal", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"hostname": "", "ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {"host_alias": {"host_alias_list": [{"ip": "10.0.0.1"}]}},
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {
                "host_alias": {
                    "host_alias_list": [
                        {"hostname": "db.internal", "ip": "10.0.0.1"},
                        {"hostname": "db.internal", "ip": "10.0.0.2"},
                    ]
                }
            },
            "host_alias.host_alias_list[1].hostname",
        ),
        ({"service_workload": ""}, "service_workload"),
        ({"service_workload": {"nifi": {"cpu": 2000}}}, "service_workload.nifi.cpu"),
        ({"service_workload": {"nifi": {"cpu": "2000m"}}}, "service_workload.nifi.cpu"),
        ({"service_workload": {"nifi": {"memory": "1.5"}}}, "service_workload.nifi.memory"),
        ({"service_workload": {"nifi": {"replica": "-1"}}}, "service_workload.nifi.replica"),
    ],
)
def test_each_broken_rule_gets_400_naming_the_field(api: Api, body: Any, field: str) -> None:
    response = api.put(SALES, json=body)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "ValidationError"
    assert isinstance(error["detail"], list)
    assert any(message.startswith(f"{field}:") for message in error["detail"]), error["detail"]


@pytest.mark.parametrize(("body", "field"), GUESS_CASES)
def test_guess_rules_are_off_by_default(api: Api, body: Any, field: str) -> None:
    assert api.put(SALES, json=body).status_code == 202


@pytest.mark.parametrize(("body", "field"), GUESS_CASES)
def test_guess_rules_refuse_when_switched_on(
    api: Api, scp_simulator: SimulatorHandle, body: Any, field: str
) -> None:
    scp_simulator.fault(guess_rules=True)

    response = api.put(SALES, json=body)

    assert response.status_code == 400
    detail = error_of(response)["detail"]
    assert any(message.startswith(f"{field}:") for message in detail), detail


def test_every_bad_field_gets_its_own_message(api: Api) -> None:
    response = api.put(
        SALES,
        json={
            "description": "x" * 200,
            "domain": "Bad_Domain",
            "account": {"account_password": "weak"},
        },
    )

    detail = error_of(response)["detail"]
    assert len(detail) == 3
    assert [message.split(":")[0] for message in detail] == [
        "account.account_password",
        "description",
        "domain",
    ]


def test_refused_update_changes_nothing(api: Api) -> None:
    before = api.get(SALES).json()

    api.put(SALES, json={"domain": "ok-domain", "node_selector": ""})

    assert api.get(SALES).json() == before
