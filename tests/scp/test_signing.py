"""The signature of SCP requests, checked against the reference's test vectors."""

from __future__ import annotations

import pytest

from console.scp import sign, signed_headers, string_to_sign

ACCESS_KEY = "AKIDEXAMPLE0001"
SECRET_KEY = "SECRETKEYEXAMPLE0001"
TIMESTAMP = 1605290625682
HOST = "https://data-flow.kr-west1.e.samsungsdscloud.com"

VECTORS = [
    (
        "PUT",
        f"{HOST}/v1/data-flow-services/0a1b2c3d4e5f",
        "sJ/TGc2j6a4rPMOwGfw35gmMtUzVMI3t1UFLufleiME=",
    ),
    (
        "GET",
        f"{HOST}/v1/data-flow-services?page=0&size=20&sort=created_dt:desc",
        "2n9pRFtggAIa2RIhoVnbotPaVgLXv+houHqGeVFlkJU=",
    ),
    (
        "GET",
        f"{HOST}/v1/data-flow-services?data_flow_service_name=%ED%95%9C&page=0",
        "yVT7eHGgvQAKzl8xwFGmLJ2iD9aj0d2H+8RnvwL4bFE=",
    ),
]


@pytest.mark.parametrize(("method", "url", "expected"), VECTORS)
def test_sign_matches_the_reference_vectors(method: str, url: str, expected: str) -> None:
    assert sign(method, url, TIMESTAMP, ACCESS_KEY, SECRET_KEY) == expected


@pytest.mark.parametrize(("method", "url", "expected"), VECTORS)
def test_sign_takes_the_timestamp_as_text_too(method: str, url: str, expected: str) -> None:
    assert sign(method, url, str(TIMESTAMP), ACCESS_KEY, SECRET_KEY) == expected


def test_sign_upper_cases_the_method() -> None:
    method, url, expected = VECTORS[0]
    assert sign(method.lower(), url, TIMESTAMP, ACCESS_KEY, SECRET_KEY) == expected


def test_string_to_sign_has_no_separators_and_ends_with_the_client_type() -> None:
    text = string_to_sign("get", f"{HOST}/v1/x?a=1", TIMESTAMP, ACCESS_KEY)
    assert text == f"GET{HOST}/v1/x?a=1{TIMESTAMP}{ACCESS_KEY}Openapi"


def test_a_double_encoded_url_gives_another_signature() -> None:
    method, url, expected = VECTORS[2]
    double = url.replace("%ED%95%9C", "%25ED%2595%259C")
    assert sign(method, double, TIMESTAMP, ACCESS_KEY, SECRET_KEY) != expected


def test_signed_headers_carry_key_signature_timestamp_and_client_type() -> None:
    method, url, expected = VECTORS[1]
    headers = signed_headers(
        method, url, access_key=ACCESS_KEY, secret_key=SECRET_KEY, timestamp_ms=TIMESTAMP
    )
    assert headers == {
        "Scp-Accesskey": ACCESS_KEY,
        "Scp-Signature": expected,
        "Scp-Timestamp": str(TIMESTAMP),
        "Scp-ClientType": "Openapi",
    }
    assert SECRET_KEY not in repr(headers)
