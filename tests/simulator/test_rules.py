"""Each rule names its source; the guide's and Kubernetes' rules apply to changed values only."""

from __future__ import annotations

from typing import Any

import pytest

from console.simulator import rules, seed
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"
LEGACY_ALIASES = [
    {"hostname": "Legacy-DB.corp", "ip": "10.9.0.1"},  # upper case: Kubernetes would refuse it new
    {"hostname": "files.corp", "ip": "10.9.0.2"},
]


def test_every_rule_names_one_of_the_four_sources() -> None:
    assert {rule.source for rule in rules.RULES.values()} == set(rules.SOURCES)
    assert all(rule.says for rule in rules.RULES.values())


def test_the_guesses_are_exactly_the_undocumented_rules() -> None:
    guesses = {name for name, rule in rules.RULES.items() if rule.source == rules.GUESS}

    assert guesses == {"quantity_range", "zookeeper_odd", "version_offered", "unknown_field"}


def test_shape_rules_apply_even_to_values_equal_to_held_ones() -> None:
    held = {"description": "x", "host_alias": {"enabled": "false", "host_alias_list": []}}

    errors = rules.update_validate(
        {"description": 5, "host_alias": {"enabled": False}}, held=held, shape_only=True
    )

    assert errors == [
        "description: must be a string, got number",
        "host_alias.enabled: must be a string, got boolean",
    ]


def test_documented_request_example_has_the_documented_shape() -> None:
    example = {
        "account": {"account_id": "", "account_password": ""},
        "description": "",
        "domain": "",
        "host_alias": {"enabled": "true", "host_alias_list": [{"hostname": "", "ip": ""}]},
        "node_selector": "",
        "service_workload": seed.workload(
            (2000, 1024, 1, "1.27.1"), (2000, 1024, 1, "1.27.1"), (2000, 1024, 3, "3.9.2")
        ),
    }

    assert rules.update_validate(example, shape_only=True) == []
    # The same empty values are edits to the guide's rules: each is refused.
    assert len(rules.update_validate(example, held=None)) >= 6


@pytest.fixture
def legacy(scp_simulator: SimulatorHandle) -> dict[str, Any]:
    """A service another tool made: a domain with dots, a bare node label, odd host aliases."""
    return scp_simulator.add_service(
        data_flow_service_name="legacy-cdc",
        domain="cdc.legacy",
        node_selector="dataflow",
        description="d" * 180,
        account={"account_id": "cdc", "account_password": "short"},
        host_alias={"enabled": "true", "host_alias_list": LEGACY_ALIASES},
    )


def test_control_endpoint_creates_services_that_break_the_guide(legacy: dict[str, Any]) -> None:
    assert legacy["domain"] == "cdc.legacy"
    assert legacy["node_selector"] == "dataflow"


def test_held_values_pass_a_change_of_another_field(api: Api, legacy: dict[str, Any]) -> None:
    path = f"/v1/data-flow-services/{legacy['data_flow_service_id']}"
    body = {
        "account": {"account_id": "cdc"},
        "description": legacy["description"],
        "domain": "cdc.legacy",
        "node_selector": "dataflow",
        "host_alias": {"enabled": "true", "host_alias_list": LEGACY_ALIASES},
        "service_workload": {"nifi": {"memory": "8192"}},
    }

    response = api.put(path, json=body)
    after = api.wait_until_settled(legacy["data_flow_service_id"])

    assert response.status_code == 202, response.text
    assert (after["domain"], after["node_selector"]) == ("cdc.legacy", "dataflow")
    assert after["service_workload"]["nifi"]["memory"] == "8192"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"domain": "cdc.legacy2"}, "domain"),
        ({"node_selector": ""}, "node_selector"),
        ({"description": "e" * 180}, "description"),
        ({"account": {"account_id": "cdc2"}}, "account.account_id"),
        (
            {
                "host_alias": {
                    "host_alias_list": [
                        *LEGACY_ALIASES,
                        {"hostname": "New-Host.corp", "ip": "10.9.0.3"},
                    ]
                }
            },
            "host_alias.host_alias_list[2].hostname",
        ),
        (
            {
                "host_alias": {
                    "host_alias_list": [
                        {"hostname": "Legacy-DB.corp", "ip": "10.9.0.9"},  # changed entry
                        LEGACY_ALIASES[1],
                    ]
                }
            },
            "host_alias.host_alias_list[0].hostname",
        ),
        (
            {
                "host_alias": {
                    "host_alias_list": [
                        {"hostname": "files.corp", "ip": "10.9.0.7"},  # clashes with a held one
                        *LEGACY_ALIASES,
                    ]
                }
            },
            "host_alias.host_alias_list[0].hostname",
        ),
    ],
)
def test_changed_values_meet_the_guide_and_kubernetes(
    api: Api, legacy: dict[str, Any], change: dict[str, Any], field: str
) -> None:
    path = f"/v1/data-flow-services/{legacy['data_flow_service_id']}"

    response = api.put(path, json=change)

    assert response.status_code == 400
    detail = error_of(response)["detail"]
    assert any(message.startswith(f"{field}:") for message in detail), detail
    assert len(detail) == 1  # the held values beside it pass


def test_held_aliases_may_be_dropped_or_reordered(api: Api, legacy: dict[str, Any]) -> None:
    path = f"/v1/data-flow-services/{legacy['data_flow_service_id']}"
    reordered = {"host_alias": {"host_alias_list": [LEGACY_ALIASES[1], LEGACY_ALIASES[0]]}}

    assert api.put(path, json=reordered).status_code == 202


def test_guess_rules_switch_is_global_only(scp_simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match="guess_rules"):
        scp_simulator.fault(seed.SALES_ETL_ID, guess_rules=True)


def test_guess_rules_pass_held_values(api: Api, scp_simulator: SimulatorHandle) -> None:
    odd = scp_simulator.add_service(
        data_flow_service_name="tiny",
        service_workload={"nifi": {"cpu": "50"}, "zookeeper": {"replica": "2"}},
    )
    scp_simulator.fault(guess_rules=True)
    path = f"/v1/data-flow-services/{odd['data_flow_service_id']}"

    held = api.put(path, json={"service_workload": odd["service_workload"]})
    api.wait_until_settled(odd["data_flow_service_id"])
    changed = api.put(path, json={"service_workload": {"nifi": {"cpu": "60"}}})

    assert held.status_code == 202
    assert changed.status_code == 400


def test_reset_switches_the_guess_rules_off_again(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.fault(guess_rules=True, precheck="no", start_delay=5, lose_answer_next=1)

    scp_simulator.reset()

    assert scp_simulator.faults() == {"global": {}, "services": {}}
    assert api.put(SALES, json={"service_workload": {"nifi": {"cpu": "99"}}}).status_code == 202
