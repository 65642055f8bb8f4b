"""Contract: SCP's documented examples parse with the console's parsers, and the simulator
answers in the same shapes and accepts the documented request.

The examples are SCP's (`fixtures/`, copied from the API reference and SCP_API.md); where a parser
disagrees with them, the documented behaviour is what these tests expect.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from console.scp.errors import (
    ScpBadCredentials,
    ScpInvalidInput,
    ScpNotFound,
    ScpUnavailable,
    ScpVersionNotSupported,
    error_from_response,
)
from console.scp.types import parse_resource_check, parse_service_detail
from console.simulator import rules, seed
from tests.scp.fakes import fixture, fixture_text
from tests.simulator.helpers import Api
from tests.simulator_fixture import SimulatorHandle

SALES = f"/v1/data-flow-services/{seed.SALES_ETL_ID}"


@pytest.fixture
def api(scp_simulator: SimulatorHandle) -> Any:
    """Signed calls to the simulator with its demo keys."""
    caller = Api(
        scp_simulator.url, access_key=scp_simulator.access_key, secret_key=scp_simulator.secret_key
    )
    yield caller
    caller.session.close()


# ---- the documented examples through the console's parsers --------------------------------


def test_documented_202_parses_with_its_quirks() -> None:
    detail = parse_service_detail(fixture("update-response-202.seed.json"))

    assert detail.config.workloads is None  # "service_workload": ""
    assert detail.http_port is None and detail.https_port is None  # "" ports
    assert detail.cluster_request_failed is False
    assert detail.config.host_alias_enabled is True
    assert detail.created_dt is not None and detail.created_dt.year == 2026
    assert detail.state == ""


def test_documented_validation_error_on_a_put_keeps_code_detail_and_request_id() -> None:
    error = error_from_response(
        400, fixture_text("error-400-validation.json"), by_id=True, method="PUT"
    )

    assert isinstance(error, ScpInvalidInput)
    assert error.code == "ValidationError"
    assert error.details == ("Field required", "Field required")
    assert error.global_request_id == "req-6a1f0c2e9b7d4e51a3c8f0d2b4e6a8c0"
    assert error.permanent


def test_documented_validation_error_on_a_get_by_id_is_not_reworded_as_not_found() -> None:
    # SCP_API.md §6: a 400 on a by-id call is shown with SCP's code and detail; "not found"
    # must not be guessed from it.
    error = error_from_response(
        400, fixture_text("error-400-validation.json"), by_id=True, method="GET"
    )

    assert not isinstance(error, ScpNotFound)
    assert error.code == "ValidationError"
    assert "Field required" in error.detail


def test_documented_hmac_error_is_bad_credentials() -> None:
    error = error_from_response(401, fixture_text("error-401-hmac.json"), by_id=False, method="GET")

    assert isinstance(error, ScpBadCredentials)
    assert error.code == "HmacValidFail"
    assert error.global_request_id == "req-0b9d8c7a6f5e4d3c2b1a09f8e7d6c5b4"


def test_documented_gateway_404_is_not_found_with_its_request_id() -> None:
    error = error_from_response(
        404, fixture_text("error-404-gateway.json"), by_id=False, method="GET"
    )

    assert isinstance(error, ScpNotFound)
    assert error.global_request_id == "e8b465a6-6c1d-4a57-9b0e-3f2a1c5d7e90"


def test_documented_contact_admin_error_is_transient() -> None:
    error = error_from_response(
        500, fixture_text("error-500-contact-admin.json"), by_id=True, method="PUT"
    )

    assert isinstance(error, ScpUnavailable)
    assert not error.permanent
    assert error.code == "ContactAdminForAssistance"
    assert error.global_request_id == "req-1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"


def test_documented_precheck_answer_is_no_verdict() -> None:
    # SCP_API.md §4: only result false/"false" or a non-empty err_code is a "no"; the
    # documented answer is no verdict, and "CPU"/"Memory" are labels, not numbers.
    check = parse_resource_check(fixture("validate-resources-200.doc.json"))

    assert check.err_code == ""
    assert check.ok is not False
    assert (check.cpu, check.memory) == ("CPU", "Memory")


def test_clear_no_from_the_precheck_is_a_no() -> None:
    check = parse_resource_check(
        {"cpu": "CPU", "err_code": "NotEnoughResource", "memory": "Memory", "result": "false"}
    )

    assert check.ok is False
    assert check.err_code == "NotEnoughResource"


# ---- the simulator answers in the documented shapes -----------------------------------------


def test_simulator_202_has_exactly_the_documented_keys(api: Api) -> None:
    documented = fixture("update-response-202.seed.json")

    body = api.put(SALES, json={"description": "contract"}).json()

    assert set(body) == set(documented)
    assert set(body["account"]) == set(documented["account"])
    assert set(body["host_alias"]) == set(documented["host_alias"])
    assert body["service_workload"] == "" and isinstance(body["http_port"], str)
    assert parse_service_detail(body).id == seed.SALES_ETL_ID


def test_simulator_detail_is_the_202_fields_plus_account_id(api: Api) -> None:
    documented = fixture("update-response-202.seed.json")

    body = api.get(SALES).json()

    assert set(body) == set(documented) | {"account_id"}
    assert parse_service_detail(body).config.workloads is not None


@pytest.mark.parametrize(
    ("call", "example"),
    [
        (lambda api: api.put(SALES, json={"domain": "Bad_Domain"}), "error-400-validation.json"),
        (lambda api: api.get(SALES, secret_key="WRONG"), "error-401-hmac.json"),
        (lambda api: api.get(SALES, headers={"Scp-Api-Version": "data-flow 0.9"}), None),
    ],
)
def test_simulator_service_errors_have_the_documented_envelope(
    api: Api, call: Any, example: str | None
) -> None:
    documented = fixture(example or "error-400-validation.json")["errors"][0]

    response = call(api)
    (error,) = response.json()["errors"]

    assert set(error) == set(documented)
    if example is None:
        assert (response.status_code, error["code"]) == (406, "NoSuchVersion")
        assert isinstance(
            error_from_response(406, response.text, by_id=True, method="GET"),
            ScpVersionNotSupported,
        )


def test_simulator_gateway_404_has_the_documented_envelope(api: Api) -> None:
    response = api.get(SALES, headers={"Scp-Signature": None})

    assert response.status_code == 404
    assert set(response.json()) == set(fixture("error-404-gateway.json"))


def test_simulator_version_list_has_the_documented_shape(scp_simulator: SimulatorHandle) -> None:
    (documented,) = fixture("version-list.doc.json")["versions"]

    listed = requests.get(scp_simulator.url + "/", timeout=5).json()

    assert set(listed) == {"versions"}
    for version in listed["versions"]:
        assert set(version) == set(documented)
        assert set(version["links"][0]) == {"href", "rel"}


def test_simulator_precheck_answers_the_documented_example(api: Api) -> None:
    workload = fixture("update-request.seed.json")["service_workload"]

    response = api.post(f"{SALES}/validate-resources", json={"service_workload": workload})

    assert response.status_code == 200
    assert response.json() == fixture("validate-resources-200.doc.json")


def test_documented_request_has_the_shape_the_simulator_validates(api: Api) -> None:
    example = fixture("update-request.seed.json")

    assert rules.update_validate(example, shape_only=True) == []
    assert api.put(SALES, json={"service_workload": example["service_workload"]}).status_code == 202


def test_documented_request_with_empty_values_fails_only_on_the_guides_rules(api: Api) -> None:
    example = fixture("update-request.seed.json")

    response = api.put(SALES, json=example)

    assert response.status_code == 400
    detail = response.json()["errors"][0]["detail"]
    assert detail and not any("must be a string" in m or "must be an object" in m for m in detail)
    assert json.dumps(detail).count("service_workload") == 0
