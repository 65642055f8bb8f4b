"""The version list at the endpoint root and the `Scp-Api-Version` check it drives."""

from __future__ import annotations

import pytest
import requests

from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

LIST = "/v1/data-flow-services"
DEPRECATED_1_0 = [
    {"id": "v1.0", "status": "DEPRECATED", "not_after": "2027-01-31"},
    {"id": "v1.1", "status": "CURRENT"},
]


def test_root_lists_the_versions_without_a_signature(scp_simulator: SimulatorHandle) -> None:
    response = requests.get(scp_simulator.url + "/", timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "versions": [
            {
                "id": "v1.0",
                "links": [{"href": scp_simulator.url + "/", "rel": "self"}],
                "not_before": "2025-06-01",
                "status": "SUPPORTED",
            },
            {
                "id": "v1.1",
                "links": [{"href": scp_simulator.url + "/", "rel": "self"}],
                "not_before": "2026-02-23",
                "status": "CURRENT",
            },
        ]
    }


def test_root_answers_a_signed_call_too(api: Api, scp_simulator: SimulatorHandle) -> None:
    response = api.get("/")

    assert response.status_code == 200
    assert [v["status"] for v in response.json()["versions"]] == ["SUPPORTED", "CURRENT"]
    (entry,) = scp_simulator.requests()
    assert entry["verdict"] == "version list (signed)"


def test_root_call_is_logged_with_its_signature_verdict(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    api.get("/", secret_key="WRONG")
    requests.get(scp_simulator.url + "/", timeout=5)

    wrong, unsigned = scp_simulator.requests()
    assert wrong["status"] == 200 and "signature mismatch" in wrong["verdict"]
    assert unsigned["verdict"] == "version list (unsigned)"


def test_deprecated_version_carries_its_removal_date(scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_versions(DEPRECATED_1_0)

    listed = requests.get(scp_simulator.url + "/", timeout=5).json()["versions"]

    assert listed[0]["status"] == "DEPRECATED"
    assert listed[0]["not_after"] == "2027-01-31"
    assert listed[1]["status"] == "CURRENT"
    assert "not_before" not in listed[1]


def test_deprecated_version_is_still_callable(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_versions(DEPRECATED_1_0)

    assert api.get(LIST, headers={"Scp-Api-Version": "data-flow 1.0"}).status_code == 200


@pytest.mark.parametrize(
    ("versions", "header"),
    [
        ([{"id": "v1.1", "status": "CURRENT"}], "data-flow 1.0"),  # removed
        (
            [{"id": "v1.1", "status": "CURRENT"}, {"id": "v1.2", "status": "PLANNED"}],
            "data-flow 1.2",
        ),
    ],
)
def test_removed_or_planned_version_gets_406_no_such_version(
    api: Api, scp_simulator: SimulatorHandle, versions: list, header: str
) -> None:
    scp_simulator.set_versions(versions)

    response = api.get(LIST, headers={"Scp-Api-Version": header})

    assert response.status_code == 406
    error = error_of(response)
    assert error["code"] == "NoSuchVersion"
    assert "data-flow 1.1" in error["detail"]  # names what is callable


def test_missing_header_means_the_current_version(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_versions([{"id": "v2.0", "status": "CURRENT"}])

    assert api.get(LIST, headers={"Scp-Api-Version": None}).status_code == 200
    assert api.get(LIST, headers={"Scp-Api-Version": "data-flow 1.0"}).status_code == 406


def test_missing_header_with_no_current_version_gets_406(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    scp_simulator.set_versions([{"id": "v1.0", "status": "SUPPORTED"}])

    response = api.get(LIST, headers={"Scp-Api-Version": None})

    assert response.status_code == 406
    assert error_of(response)["code"] == "NoSuchVersion"


def test_delete_and_reset_restore_the_default_list(scp_simulator: SimulatorHandle) -> None:
    default = scp_simulator.versions()
    scp_simulator.set_versions(DEPRECATED_1_0)
    assert scp_simulator.reset_versions() == default

    scp_simulator.set_versions(DEPRECATED_1_0)
    scp_simulator.reset()

    assert scp_simulator.versions() == default


@pytest.mark.parametrize(
    ("versions", "message"),
    [
        ([{"id": "1.1", "status": "CURRENT"}], "versions[0].id"),
        ([{"id": "v1", "status": "CURRENT"}], "versions[0].id"),
        ([{"id": "v1.1", "status": "current"}], "versions[0].status"),
        ([{"id": "v1.1", "status": "RETIRED"}], "versions[0].status"),
        ([{"id": "v1.1", "status": "CURRENT", "not_after": "31.01.2027"}], "not_after"),
        ([{"id": "v1.1", "status": "CURRENT", "not_before": 20260101}], "not_before"),
        ([{"id": "v1.1", "status": "CURRENT", "colour": "red"}], "colour"),
        ([{"id": "v1.1", "status": "CURRENT"}, {"id": "v1.1", "status": "SUPPORTED"}], "twice"),
        ([{"id": "v1.0", "status": "CURRENT"}, {"id": "v1.1", "status": "CURRENT"}], "one"),
        ("v1.1", "body"),
    ],
)
def test_bad_version_list_gets_a_clear_400(
    scp_simulator: SimulatorHandle, versions: object, message: str
) -> None:
    with pytest.raises(SimulatorControlError, match=r"-> 400") as refused:
        scp_simulator.set_versions(versions)  # type: ignore[arg-type]

    assert message in str(refused.value)
    assert len(scp_simulator.versions()) == 2  # unchanged
