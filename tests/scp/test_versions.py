"""SCP's API version list: the documented example, the last supported day, bad bodies."""

from __future__ import annotations

import json
from datetime import date

import pytest
import requests

from console.scp import (
    ApiVersion,
    ScpBadCredentials,
    ScpBadResponse,
    ScpUnavailable,
    header_value_for,
    parse_api_versions,
    version_standing,
)
from console.scp.versions import days_until

from .fakes import FakeSession, response
from .test_client import make_client

# SCP_API.md §3, verbatim.
DOCUMENTED = json.loads(
    '{"versions": [{"id": "v1.0", "links": [{"href": "...", "rel": "self"}], '
    '"not_before": "2026-02-23", "status": "CURRENT"}]}'
)


def test_the_documented_example_parses_into_one_typed_entry() -> None:
    assert parse_api_versions(DOCUMENTED) == (
        ApiVersion(
            id="v1.0",
            header_value="data-flow 1.0",
            status="CURRENT",
            last_day=date(2026, 2, 23),
        ),
    )


@pytest.mark.parametrize(
    ("version_id", "header_value"),
    [
        ("v1.1", "data-flow 1.1"),
        ("V2", "data-flow 2"),
        ("1.0", "data-flow 1.0"),
        ("data-flow 1.1", "data-flow 1.1"),
        (" v1.2 ", "data-flow 1.2"),
    ],
)
def test_an_id_maps_to_its_header_value(version_id: str, header_value: str) -> None:
    assert header_value_for(version_id) == header_value


@pytest.mark.parametrize("status", ["CURRENT", "SUPPORTED", "DEPRECATED", "PLANNED"])
def test_not_before_is_the_last_supported_day_whatever_the_status(status: str) -> None:
    [entry] = parse_api_versions(
        {"versions": [{"id": "v1.0", "status": status.lower(), "not_before": "2027-01-31"}]}
    )
    assert entry.status == status
    assert entry.last_day == date(2027, 1, 31)


@pytest.mark.parametrize(
    "name", ["not_after", "deprecated_at", "sunset", "removal_date", "end_of_life"]
)
def test_no_other_field_is_read_as_a_date(name: str) -> None:
    [entry] = parse_api_versions(
        {"versions": [{"id": "v1.0", "status": "DEPRECATED", name: "2027-01-31"}]}
    )
    assert entry.last_day is None


def test_a_timestamp_gives_its_date_and_nonsense_gives_none() -> None:
    entries = parse_api_versions(
        {
            "versions": [
                {"id": "v1.0", "status": "DEPRECATED", "not_before": "2027-01-31T00:00:00Z"},
                {"id": "v1.1", "status": "CURRENT", "not_before": "soon"},
                {"id": "v1.2", "status": "PLANNED", "not_before": 12},
            ]
        }
    )
    assert [e.last_day for e in entries] == [date(2027, 1, 31), None, None]


def test_days_left_count_down_to_the_last_day_and_below_zero_after_it() -> None:
    [entry] = parse_api_versions(
        {"versions": [{"id": "v1.0", "status": "DEPRECATED", "not_before": "2027-01-31"}]}
    )
    assert entry.days_left(date(2026, 12, 4)) == 58
    assert entry.days_left(date(2027, 1, 31)) == 0
    assert entry.days_left(date(2027, 2, 2)) == -2
    assert days_until(None, date(2026, 12, 4)) is None


def test_entries_without_an_id_or_not_objects_are_skipped() -> None:
    entries = parse_api_versions(
        {"versions": ["v1.0", None, {"status": "CURRENT"}, {"id": "v1.1", "status": None}]}
    )
    assert [(e.id, e.status) for e in entries] == [("v1.1", "")]


@pytest.mark.parametrize(
    "body",
    [
        [],
        "v1.1",
        None,
        {},
        {"versions": "v1.1"},
        {"versions": []},
        {"versions": [{"status": "CURRENT"}]},
    ],
)
def test_a_body_without_a_readable_version_is_a_bad_response(body: object) -> None:
    with pytest.raises(ScpBadResponse, match="version list"):
        parse_api_versions(body)


def test_standing_names_the_status_and_the_current_entry() -> None:
    versions = parse_api_versions(
        {
            "versions": [
                {"id": "v1.0", "status": "DEPRECATED", "not_before": "2027-01-31"},
                {"id": "v1.1", "status": "CURRENT"},
                {"id": "v1.2", "status": "PLANNED"},
            ]
        }
    )
    standing = version_standing(versions, "data-flow 1.0")
    assert standing.status == "DEPRECATED"
    assert standing.entry is not None and standing.entry.last_day == date(2027, 1, 31)
    assert standing.current is not None and standing.current.header_value == "data-flow 1.1"
    assert version_standing(versions, "Data-Flow  1.2").status == "PLANNED"
    missing = version_standing(versions, "data-flow 0.9")
    assert (missing.status, missing.entry) == (None, None)
    assert missing.current == standing.current


def test_the_client_asks_the_root_with_a_plain_unsigned_get() -> None:
    session = FakeSession(response(200, DOCUMENTED))
    [entry] = make_client(session).api_versions()
    assert entry.header_value == "data-flow 1.0"
    [sent] = session.sent
    assert sent.method == "GET"
    assert sent.url == "https://data-flow.kr-west1.e.samsungsdscloud.com/"
    assert not [name for name in sent.headers if name.lower().startswith("scp-")]
    assert sent.body is None


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_root_that_refuses_the_plain_get_is_asked_once_more_signed(status: int) -> None:
    refusal = {"status": status, "error": "Not Found", "path": "/"}
    session = FakeSession(response(status, refusal), response(200, DOCUMENTED))
    [entry] = make_client(session).api_versions()
    assert entry.id == "v1.0"
    plain, signed = session.sent
    assert "Scp-Signature" not in plain.headers
    assert signed.headers["Scp-Signature"] and signed.headers["Scp-Accesskey"]
    assert "Scp-Api-Version" not in signed.headers
    assert signed.url == plain.url


def test_the_signed_retry_is_made_once_and_its_refusal_is_the_answer() -> None:
    refused = {"errors": [{"code": "HmacValidFail", "detail": "signature mismatch", "status": 401}]}
    session = FakeSession(response(401, refused), response(401, refused))
    with pytest.raises(ScpBadCredentials):
        make_client(session).api_versions()
    assert len(session.sent) == 2


def test_a_transient_failure_of_the_plain_get_is_retried_unsigned() -> None:
    session = FakeSession(
        requests.ConnectionError("reset"), response(503, text="busy"), response(200, DOCUMENTED)
    )
    client = make_client(session, max_attempts=3)
    assert [e.id for e in client.api_versions()] == ["v1.0"]
    assert all("Scp-Signature" not in sent.headers for sent in session.sent)
    assert client._sleep == [0.5, 1.0]


class RecordingPacer:
    """A request budget that lets every request go and keeps what it heard."""

    def __init__(self) -> None:
        self.acquired = 0
        self.reports: list[tuple[bool, float | None]] = []

    def acquire(self) -> None:
        """Let the request go."""
        self.acquired += 1

    def report(self, *, throttled: bool, retry_after: float | None = None) -> None:
        """Note how SCP answered."""
        self.reports.append((throttled, retry_after))


def test_the_plain_get_spends_the_connection_budget_and_reports_throttling() -> None:
    throttled = response(429, {"status": 429})
    throttled.headers["Retry-After"] = "2"
    session = FakeSession(throttled, response(200, DOCUMENTED))
    pacer = RecordingPacer()
    client = make_client(session, pacer=pacer)

    assert [e.id for e in client.api_versions()] == ["v1.0"]
    assert pacer.acquired == 2
    assert pacer.reports == [(True, 2.0), (False, None)]
    assert client._sleep == []  # the pacer's next acquire is the wait
    assert all("Scp-Signature" not in sent.headers for sent in session.sent)


def test_an_unanswered_plain_get_is_unavailable_with_its_cause() -> None:
    session = FakeSession(requests.ConnectTimeout("slow"))
    with pytest.raises(ScpUnavailable) as caught:
        make_client(session, max_attempts=1).api_versions()
    assert (caught.value.status, caught.value.cause) == (None, "timeout")
    assert len(session.sent) == 1


def test_the_client_turns_an_unreadable_version_list_into_a_bad_response() -> None:
    session = FakeSession(response(200, text="<html>hello</html>"), response(200, [1, 2]))
    with pytest.raises(ScpBadResponse):
        make_client(session, max_attempts=1).api_versions()
    with pytest.raises(ScpBadResponse, match="HTTP 200"):
        make_client(session, max_attempts=1).api_versions()


def test_one_page_of_the_list_is_one_signed_call() -> None:
    session = FakeSession(response(200, {"contents": [], "total_count": 7}))
    items, total = make_client(session).services_page(page=0, size=1)
    assert (items, total) == ([], 7)
    assert session.sent[0].url.endswith("/v1/data-flow-services?page=0&size=1&sort=created_dt:desc")


def test_limit_sets_one_attempt_and_short_timeouts() -> None:
    client = make_client(FakeSession())
    client.limit(max_attempts=1, connect_timeout=1.5, read_timeout=4.0)
    assert (client.max_attempts, client.timeout) == (1, (1.5, 4.0))
    with pytest.raises(ValueError, match="at least 1"):
        client.limit(max_attempts=0, connect_timeout=1, read_timeout=1)
