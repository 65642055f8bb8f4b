"""The version list at the endpoint root and the `Scp-Api-Version` check it drives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from console.simulator.versions import VersionBoard
from tests.simulator.helpers import Api, error_of
from tests.simulator_fixture import SimulatorControlError, SimulatorHandle

LIST = "/v1/data-flow-services"
DEPRECATED_1_0 = [
    {"id": "v1.0", "status": "DEPRECATED", "not_before": "2027-01-31"},
    {"id": "v1.1", "status": "CURRENT"},
]
KST = timezone(timedelta(hours=9))


def kst_today_plus(days: int) -> str:
    """The day at SCP (Korean time) `days` from now, as the list writes it."""
    return (datetime.now(KST).date() + timedelta(days=days)).isoformat()


def board_at(moment: str) -> VersionBoard:
    """A board whose clock stands still at `moment` (ISO, with its zone)."""
    stamp = datetime.fromisoformat(moment).timestamp()
    return VersionBoard(clock=lambda: stamp)


def test_root_lists_the_versions_without_a_signature(scp_simulator: SimulatorHandle) -> None:
    response = requests.get(scp_simulator.url + "/", timeout=5)

    assert response.status_code == 200
    assert response.json() == {
        "versions": [
            {
                "id": "v1.0",
                "links": [{"href": scp_simulator.url + "/", "rel": "self"}],
                "not_before": kst_today_plus(365),
                "status": "SUPPORTED",
            },
            {
                "id": "v1.1",
                "links": [{"href": scp_simulator.url + "/", "rel": "self"}],
                "not_before": kst_today_plus(730),
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


def test_deprecated_version_carries_its_last_supported_day(scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_versions(DEPRECATED_1_0)

    listed = requests.get(scp_simulator.url + "/", timeout=5).json()["versions"]

    assert listed[0]["status"] == "DEPRECATED"
    assert listed[0]["not_before"] == "2027-01-31"
    assert "not_after" not in listed[0]
    assert listed[1]["status"] == "CURRENT"
    assert "not_before" not in listed[1]


def test_deprecated_version_is_still_callable(api: Api, scp_simulator: SimulatorHandle) -> None:
    scp_simulator.set_versions(
        [
            {"id": "v1.0", "status": "DEPRECATED", "not_before": kst_today_plus(0)},
            {"id": "v1.1", "status": "CURRENT"},
        ]
    )

    assert api.get(LIST, headers={"Scp-Api-Version": "data-flow 1.0"}).status_code == 200


def test_a_version_past_its_last_day_is_listed_but_refused(
    api: Api, scp_simulator: SimulatorHandle
) -> None:
    last_day = kst_today_plus(-1)
    scp_simulator.set_versions(
        [
            {"id": "v1.0", "status": "SUPPORTED", "not_before": last_day},
            {"id": "v1.1", "status": "CURRENT"},
        ]
    )

    response = api.get(LIST, headers={"Scp-Api-Version": "data-flow 1.0"})

    assert response.status_code == 406
    error = error_of(response)
    assert error["code"] == "NoSuchVersion"
    assert f"was supported until {last_day}; use one of data-flow 1.1" in error["detail"]
    listed = requests.get(scp_simulator.url + "/", timeout=5).json()["versions"]
    assert listed[0]["not_before"] == last_day


def test_the_last_day_ends_at_midnight_korean_time() -> None:
    versions = [{"id": "v1.1", "status": "CURRENT", "not_before": "2027-01-31"}]
    on_the_day = board_at("2027-01-31T23:59:00+09:00")
    on_the_day.set(versions)
    the_day_after = board_at("2027-01-31T15:00:00+00:00")  # 2027-02-01 00:00 in Seoul
    the_day_after.set(versions)

    assert on_the_day.check_header("data-flow 1.1") == ""
    assert on_the_day.check_header(None) == ""
    assert "was supported until 2027-01-31" in the_day_after.check_header("data-flow 1.1")
    assert "no CURRENT version" in the_day_after.check_header(None)


def test_the_default_list_is_dated_from_the_day_it_is_set() -> None:
    board = board_at("2026-12-04T10:00:00+09:00")

    assert board.snapshot() == [
        {"id": "v1.0", "status": "SUPPORTED", "not_before": "2027-12-04"},
        {"id": "v1.1", "status": "CURRENT", "not_before": "2028-12-03"},
    ]
    assert board.check_header("data-flow 1.0") == ""


def test_not_after_is_refused_with_what_to_use_instead(scp_simulator: SimulatorHandle) -> None:
    with pytest.raises(SimulatorControlError, match=r"-> 400") as refused:
        scp_simulator.set_versions(
            [{"id": "v1.0", "status": "DEPRECATED", "not_after": "2027-01-31"}]
        )

    assert (
        "versions[0].not_after: SCP's version list has no not_after; not_before is the "
        "version's last supported day" in str(refused.value)
    )


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
