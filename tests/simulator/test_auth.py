"""The simulator authenticates every /v1 call as strictly as SCP's gateway."""

from __future__ import annotations

import re
import time

import pytest

from console.simulator import seed
from console.simulator.server import NOT_ENABLED_ACCESS_KEY, NOT_ENABLED_SECRET_KEY
from tests.simulator.helpers import Api, error_of, sign
from tests.simulator_fixture import SimulatorHandle

LIST = "/v1/data-flow-services"
REQUEST_ID = re.compile(r"req-[0-9a-f]{32}")
KOREAN_ENCODED = "%ED%95%9C"  # "한" percent-encoded once, as on the wire
KOREAN_DOUBLE_ENCODED = "%25ED%2595%259C"  # the same, wrongly encoded a second time


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        (
            "PUT",
            "https://data-flow.kr-west1.e.samsungsdscloud.com/v1/data-flow-services/0a1b2c3d4e5f",
            "sJ/TGc2j6a4rPMOwGfw35gmMtUzVMI3t1UFLufleiME=",
        ),
        (
            "GET",
            "https://data-flow.kr-west1.e.samsungsdscloud.com/v1/data-flow-services"
            "?page=0&size=20&sort=created_dt:desc",
            "2n9pRFtggAIa2RIhoVnbotPaVgLXv+houHqGeVFlkJU=",
        ),
        (
            "GET",
            "https://data-flow.kr-west1.e.samsungsdscloud.com/v1/data-flow-services"
            "?data_flow_service_name=%ED%95%9C&page=0",
            "yVT7eHGgvQAKzl8xwFGmLJ2iD9aj0d2H+8RnvwL4bFE=",
        ),
    ],
)
def test_signing_helper_matches_the_reference_vectors(method: str, url: str, expected: str) -> None:
    assert (
        sign(
            secret_key="SECRETKEYEXAMPLE0001",
            method=method,
            url=url,
            timestamp="1605290625682",
            access_key="AKIDEXAMPLE0001",
        )
        == expected
    )


def test_correctly_signed_request_succeeds(api: Api) -> None:
    response = api.get(LIST, params={"page": 0, "size": 20, "sort": "created_dt:desc"})

    assert response.status_code == 200
    assert response.json()["total_count"] == 5


@pytest.mark.parametrize("version", ["data-flow 1.0", "data-flow 1.1"])
def test_every_listed_api_version_is_accepted(api: Api, version: str) -> None:
    response = api.get(LIST, headers={"Scp-Api-Version": version})

    assert response.status_code == 200


def test_wrong_secret_is_refused_with_hmac_valid_fail(api: Api) -> None:
    response = api.get(LIST, secret_key="NOT-THE-SECRET")

    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "HmacValidFail"
    assert REQUEST_ID.fullmatch(error["global_request_id"])
    assert REQUEST_ID.fullmatch(error["request_id"])
    assert error["links"] == [] and error["related_resources"] == [] and error["response"] is None


def test_each_refusal_carries_a_fresh_request_id(api: Api) -> None:
    first = error_of(api.get(LIST, secret_key="wrong"))
    second = error_of(api.get(LIST, secret_key="wrong"))

    assert first["global_request_id"] != second["global_request_id"]


@pytest.mark.parametrize("skew_ms", [-6 * 60 * 1000, 6 * 60 * 1000])
def test_timestamp_more_than_five_minutes_off_is_refused(api: Api, skew_ms: int) -> None:
    timestamp = str(int(time.time() * 1000) + skew_ms)

    response = api.get(LIST, timestamp=timestamp)

    assert response.status_code == 401
    assert error_of(response)["code"] == "HmacValidFail"


def test_timestamp_within_five_minutes_is_accepted(api: Api) -> None:
    timestamp = str(int(time.time() * 1000) - 4 * 60 * 1000)

    assert api.get(LIST, timestamp=timestamp).status_code == 200


def test_timestamp_in_seconds_instead_of_milliseconds_is_refused(api: Api) -> None:
    response = api.get(LIST, timestamp=str(int(time.time())))

    assert response.status_code == 401


def test_query_string_left_out_of_the_signature_is_refused(api: Api) -> None:
    response = api.get(LIST, params={"page": 0, "size": 20}, signed_url=api.base_url + LIST)

    assert response.status_code == 401
    assert error_of(response)["code"] == "HmacValidFail"


def test_url_signed_double_encoded_but_sent_encoded_once_is_refused(api: Api) -> None:
    sent = f"{LIST}?data_flow_service_name={KOREAN_ENCODED}&page=0"
    signed = f"{api.base_url}{LIST}?data_flow_service_name={KOREAN_DOUBLE_ENCODED}&page=0"

    response = api.get(sent, signed_url=signed)

    assert response.status_code == 401


def test_url_sent_double_encoded_but_signed_encoded_once_is_refused(api: Api) -> None:
    sent = f"{LIST}?data_flow_service_name={KOREAN_DOUBLE_ENCODED}&page=0"
    signed = f"{api.base_url}{LIST}?data_flow_service_name={KOREAN_ENCODED}&page=0"

    response = api.get(sent, signed_url=signed)

    assert response.status_code == 401


def test_percent_encoded_query_signed_as_sent_is_accepted(api: Api) -> None:
    response = api.get(f"{LIST}?data_flow_service_name={KOREAN_ENCODED}&page=0")

    assert response.status_code == 200


def test_url_signed_with_another_host_is_refused(api: Api) -> None:
    signed = api.base_url.replace("127.0.0.1", "localhost") + LIST

    assert api.get(LIST, signed_url=signed).status_code == 401


def test_method_is_part_of_the_signature(api: Api) -> None:
    url = f"{api.base_url}{LIST}"
    timestamp = str(int(time.time() * 1000))
    get_signature = sign(
        secret_key=api.secret_key,
        method="GET",
        url=url,
        timestamp=timestamp,
        access_key=api.access_key,
    )

    response = api.call(
        "PUT",
        f"/v1/data-flow-services/{seed.SALES_ETL_ID}",
        json={},
        timestamp=timestamp,
        headers={"Scp-Signature": get_signature},
    )

    assert response.status_code == 401


@pytest.mark.parametrize("client_type", ["OpenApi", "openapi", "Console", None])
def test_wrong_or_missing_client_type_is_refused(api: Api, client_type: str | None) -> None:
    response = api.get(LIST, headers={"Scp-ClientType": client_type})

    assert response.status_code == 401
    assert error_of(response)["code"] == "HmacValidFail"


def test_unknown_access_key_is_refused(api: Api) -> None:
    response = api.get(LIST, access_key="UNKNOWNACCESSKEY", secret_key="whatever")

    assert response.status_code == 401
    assert error_of(response)["code"] == "HmacValidFail"


@pytest.mark.parametrize("missing", ["Scp-Accesskey", "Scp-Signature", "Scp-Timestamp"])
def test_missing_auth_header_gets_the_gateway_404(api: Api, missing: str) -> None:
    response = api.get(LIST, headers={missing: None})

    assert response.status_code == 404
    body = response.json()
    assert set(body) == {"timestamp", "path", "status", "error", "requestId"}
    assert body["status"] == 404
    assert body["error"] == "Not Found"
    assert body["path"] == LIST
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", body["timestamp"])


@pytest.mark.parametrize("version", ["data-flow 2.0", "data-flow 1.2", "data-flow", "dataflow 1.0"])
def test_unlisted_or_malformed_api_version_gets_406(api: Api, version: str) -> None:
    response = api.get(LIST, headers={"Scp-Api-Version": version})

    assert response.status_code == 406
    assert error_of(response)["code"] == "NoSuchVersion"


def test_key_not_enabled_for_data_flow_is_rejected_by_gateway(api: Api) -> None:
    response = api.get(LIST, access_key=NOT_ENABLED_ACCESS_KEY, secret_key=NOT_ENABLED_SECRET_KEY)

    assert response.status_code == 401
    assert "rejected by gateway" in error_of(response)["detail"]


def test_key_not_enabled_with_a_bad_signature_is_a_signature_fault(api: Api) -> None:
    response = api.get(LIST, access_key=NOT_ENABLED_ACCESS_KEY, secret_key="wrong")

    assert response.status_code == 401
    assert error_of(response)["code"] == "HmacValidFail"


def test_unknown_api_path_gets_the_gateway_404(api: Api) -> None:
    response = api.get("/v1/data-flows/image-versions")

    assert response.status_code == 404
    assert response.json()["error"] == "Not Found"
    assert response.json()["path"] == "/v1/data-flows/image-versions"


def test_refusals_are_logged_with_their_reason(api: Api, scp_simulator: SimulatorHandle) -> None:
    api.get(LIST)
    api.get(LIST, secret_key="wrong")
    api.get(LIST, timestamp=str(int(time.time() * 1000) - 10 * 60 * 1000))
    api.get(LIST, headers={"Scp-Signature": None})
    api.get(LIST, headers={"Scp-Api-Version": "data-flow 9.9"})
    api.get(LIST, access_key=NOT_ENABLED_ACCESS_KEY, secret_key=NOT_ENABLED_SECRET_KEY)

    verdicts = [(entry["status"], entry["verdict"]) for entry in scp_simulator.requests()]

    assert verdicts == [
        (200, "ok"),
        (401, "signature mismatch"),
        (401, "stale timestamp"),
        (404, "missing auth headers"),
        (406, "unsupported api version"),
        (401, "rejected by gateway"),
    ]
