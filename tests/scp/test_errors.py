"""Mapping SCP's error answers, in all their envelopes, to typed errors."""

from __future__ import annotations

import json
import pickle

import pytest

from console.scp import (
    ScpBadCredentials,
    ScpBadResponse,
    ScpError,
    ScpForbidden,
    ScpInvalidInput,
    ScpNotEnabled,
    ScpNotFound,
    ScpThrottled,
    ScpUnavailable,
    ScpVersionNotSupported,
    error_from_response,
    parse_retry_after,
)

from .fakes import fixture_text


def service_error(status: int, code: str, detail: object) -> str:
    """An answer in SCP's service envelope."""
    return json.dumps(
        {
            "errors": [
                {
                    "code": code,
                    "detail": detail,
                    "global_request_id": "req-00000000000000000000000000000001",
                    "request_id": "req-00000000000000000000000000000001",
                    "status": status,
                    "title": code,
                    "links": [],
                    "related_resources": [],
                    "response": None,
                }
            ]
        }
    )


def test_validation_400_is_invalid_input_with_every_detail() -> None:
    error = error_from_response(
        400, fixture_text("error-400-validation.json"), by_id=False, method="GET"
    )
    assert type(error) is ScpInvalidInput
    assert error.permanent
    assert error.status == 400
    assert error.code == "ValidationError"
    assert error.details == ("Field required", "Field required")
    assert error.detail == "Field required; Field required"
    assert error.global_request_id == "req-6a1f0c2e9b7d4e51a3c8f0d2b4e6a8c0"
    assert "Field required" in error.message


def test_validation_400_on_a_put_by_id_stays_invalid_input() -> None:
    text = service_error(400, "ValidationError", ["description: at most 150 characters"])
    error = error_from_response(400, text, by_id=True, method="PUT")
    assert type(error) is ScpInvalidInput
    assert error.details == ("description: at most 150 characters",)


def test_400_on_a_get_by_id_is_refused_input_quoting_code_and_detail() -> None:
    error = error_from_response(
        400, fixture_text("error-400-validation.json"), by_id=True, method="GET"
    )
    assert type(error) is ScpInvalidInput
    assert error.code == "ValidationError"
    assert error.message == (
        "SCP refused the request for this service "
        "(ValidationError: Field required; Field required)."
    )
    assert "not found" not in error.message.lower()


@pytest.mark.parametrize(
    "detail",
    ["Data flow service not found", "invalid data_flow_service_id", "service id does not exist"],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_400_by_id_is_never_reworded_as_not_found_from_its_words(detail: str, method: str) -> None:
    error = error_from_response(
        400, service_error(400, "ValidationError", detail), by_id=True, method=method
    )
    assert type(error) is ScpInvalidInput
    assert error.message == f"SCP refused the request for this service (ValidationError: {detail})."
    assert error.detail == detail
    assert error.global_request_id == "req-00000000000000000000000000000001"


def test_400_by_id_without_a_body_still_says_scp_refused_it() -> None:
    error = error_from_response(400, "", by_id=True, method="GET")
    assert type(error) is ScpInvalidInput
    assert error.message == "SCP refused the request for this service."


def test_hmac_401_is_bad_credentials() -> None:
    error = error_from_response(401, fixture_text("error-401-hmac.json"), by_id=False, method="GET")
    assert type(error) is ScpBadCredentials
    assert error.permanent
    assert error.code == "HmacValidFail"
    assert error.detail == "signature mismatch"
    assert "access key and secret key" in error.message


@pytest.mark.parametrize("text", ["", "Unauthorized", "<html><title>401</title></html>"])
def test_any_other_401_is_bad_credentials(text: str) -> None:
    assert type(error_from_response(401, text, by_id=False, method="GET")) is ScpBadCredentials


@pytest.mark.parametrize(
    "text",
    [
        service_error(401, "Unauthorized", "Request rejected by gateway"),
        json.dumps({"message": "catalog has not target"}),
        "request Rejected By Gateway",
    ],
)
def test_401_saying_rejected_by_gateway_means_not_enabled(text: str) -> None:
    error = error_from_response(401, text, by_id=False, method="GET")
    assert type(error) is ScpNotEnabled
    assert error.permanent
    assert "not enabled" in error.message


def test_403_is_forbidden_with_scp_code_and_detail() -> None:
    error = error_from_response(
        403, service_error(403, "Forbidden", "no permission"), by_id=True, method="GET"
    )
    assert type(error) is ScpForbidden
    assert error.permanent
    assert error.detail == "no permission"
    assert error.message.startswith("SCP denied access (Forbidden: no permission).")
    assert "another project" in error.message
    assert "not found" not in error.message.lower()


def test_gateway_404_is_not_found_pointing_at_the_address_or_signing() -> None:
    error = error_from_response(
        404, fixture_text("error-404-gateway.json"), by_id=False, method="GET"
    )
    assert type(error) is ScpNotFound
    assert error.code == "Not Found"
    assert error.global_request_id == "e8b465a6-6c1d-4a57-9b0e-3f2a1c5d7e90"
    assert "/v1/data-flows/image-versions" in error.details
    assert "base URL may be wrong" in error.message
    assert "unsigned" in error.message


def test_406_no_such_version_is_version_not_supported() -> None:
    error = error_from_response(
        406, service_error(406, "NoSuchVersion", "no such version"), by_id=False, method="GET"
    )
    assert type(error) is ScpVersionNotSupported
    assert error.permanent
    assert error.code == "NoSuchVersion"


def test_contact_admin_500_is_transient_and_keeps_its_code() -> None:
    error = error_from_response(
        500, fixture_text("error-500-contact-admin.json"), by_id=True, method="GET"
    )
    assert type(error) is ScpUnavailable
    assert not error.permanent
    assert error.code == "ContactAdminForAssistance"
    assert error.global_request_id == "req-1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f"
    assert "Support Center" in error.detail
    assert "global request id" in error.message


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
@pytest.mark.parametrize("text", ["", "<html><head><title>502 Bad Gateway</title></head></html>"])
def test_busy_and_server_errors_are_transient(status: int, text: str) -> None:
    error = error_from_response(status, text, by_id=False, method="GET")
    assert type(error) is ScpUnavailable
    assert not error.permanent
    assert error.status == status


def test_an_html_page_gives_its_title_as_detail() -> None:
    text = "<html><head><title>502 Bad Gateway</title></head><body><h1>nginx</h1></body></html>"
    error = error_from_response(502, text, by_id=False, method="GET")
    assert error.details == ("502 Bad Gateway",)
    assert error.raw_text == text


@pytest.mark.parametrize("status", [405, 409, 413, 415])
def test_other_client_errors_are_invalid_input(status: int) -> None:
    assert type(error_from_response(status, "", by_id=False, method="GET")) is ScpInvalidInput


def test_a_redirect_is_a_wrong_address() -> None:
    error = error_from_response(301, "", by_id=False, method="GET")
    assert type(error) is ScpNotFound
    assert "base URL" in error.message


@pytest.mark.parametrize(
    ("cls", "permanent"),
    [
        (ScpInvalidInput, True),
        (ScpBadCredentials, True),
        (ScpNotEnabled, True),
        (ScpForbidden, True),
        (ScpNotFound, True),
        (ScpVersionNotSupported, True),
        (ScpUnavailable, False),
        (ScpBadResponse, False),
    ],
)
def test_each_error_class_says_whether_it_is_permanent(
    cls: type[ScpError], permanent: bool
) -> None:
    assert issubclass(cls, ScpError)
    assert cls.permanent is permanent
    assert cls().message


def test_str_gives_message_code_and_request_id() -> None:
    error = error_from_response(401, fixture_text("error-401-hmac.json"), by_id=False, method="GET")
    text = str(error)
    assert text.startswith(error.message)
    assert "HmacValidFail" in text
    assert "req-0b9d8c7a6f5e4d3c2b1a09f8e7d6c5b4" in text


def test_to_dict_is_a_storable_record() -> None:
    error = error_from_response(
        400, fixture_text("error-400-validation.json"), by_id=False, method="PUT"
    )
    record = error.to_dict()
    assert json.loads(json.dumps(record)) == record
    assert record == {
        "kind": "ScpInvalidInput",
        "status": 400,
        "code": "ValidationError",
        "detail": "Field required; Field required",
        "details": ["Field required", "Field required"],
        "global_request_id": "req-6a1f0c2e9b7d4e51a3c8f0d2b4e6a8c0",
        "message": error.message,
        "cause": "",
        "retry_after": None,
    }


def test_errors_survive_pickling_with_their_fields() -> None:
    error = error_from_response(
        500, fixture_text("error-500-contact-admin.json"), by_id=False, method="GET"
    )
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is ScpUnavailable
    assert copy.to_dict() == error.to_dict()


def test_raw_text_is_redacted_and_truncated() -> None:
    text = json.dumps(
        {
            "errors": [{"code": "ValidationError", "detail": "bad", "status": 400}],
            "echo": {"account_password": "S3cret!pass"},
            "padding": "x" * 10_000,
        }
    )
    error = error_from_response(400, text, by_id=False, method="PUT")
    assert "S3cret" not in error.raw_text
    assert len(error.raw_text) == 4000


def test_a_secret_in_a_detail_never_reaches_message_str_repr_or_record() -> None:
    text = service_error(400, "ValidationError", ["account_password: S3cret!pass is too weak"])
    error = error_from_response(400, text, by_id=False, method="PUT")
    for shown in (
        error.message,
        str(error),
        repr(error),
        json.dumps(error.to_dict()),
        error.raw_text,
    ):
        assert "S3cret" not in shown


EDGE_PAGE = (
    "<html><head><title>Request Rejected</title></head><body>The requested URL was rejected. "
    "Please consult with your administrator.<br><br>Your support ID is: 7349127765223591063"
    "<br><br><a href='javascript:history.back();'>[Go Back]</a></body></html>"
)


@pytest.mark.parametrize("method", ["GET", "PUT", "POST"])
def test_the_edge_firewalls_417_page_is_throttling_not_a_refusal(method: str) -> None:
    error = error_from_response(417, EDGE_PAGE, by_id=True, method=method)
    assert isinstance(error, ScpThrottled)
    assert not error.permanent
    assert error.cause == "throttled"
    assert error.detail == "Request Rejected (support ID 7349127765223591063)"
    assert "417" in error.message


def test_a_417_with_scps_own_json_envelope_stays_a_refusal() -> None:
    text = json.dumps({"errors": [{"code": "ExpectationFailed", "status": 417}]})
    error = error_from_response(417, text, by_id=True, method="GET")
    assert not isinstance(error, ScpThrottled)
    assert error.permanent


def test_a_429_is_throttling_and_carries_its_retry_after() -> None:
    error = error_from_response(429, "", by_id=False, method="GET", retry_after="120")
    assert isinstance(error, ScpThrottled)
    assert error.retry_after == 120.0


def test_a_retry_after_on_a_503_makes_it_throttling() -> None:
    error = error_from_response(503, "", by_id=False, method="GET", retry_after="30")
    assert isinstance(error, ScpThrottled)
    assert error.retry_after == 30.0
    assert error.status == 503


def test_a_retry_after_date_is_measured_from_now() -> None:
    now = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC
    assert parse_retry_after("Fri, 15 Jan 2027 08:01:30 GMT", now=now) == 90.0
    assert parse_retry_after("Fri, 15 Jan 2027 07:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("", now=now) is None
    assert parse_retry_after("999999", now=now) == 3600.0


def test_a_retry_after_on_a_permanent_refusal_changes_nothing_but_the_wait() -> None:
    error = error_from_response(400, "", by_id=False, method="PUT", retry_after="5")
    assert isinstance(error, ScpInvalidInput)
    assert error.retry_after == 5.0


def test_a_throttled_error_survives_pickling() -> None:
    error = error_from_response(417, EDGE_PAGE, by_id=True, method="PUT")
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 (our own bytes)
    assert type(copy) is ScpThrottled
    assert copy.to_dict() == error.to_dict()
