"""SCP's API version list: the documented example, the guessed removal date, bad bodies."""

from __future__ import annotations

import json
from datetime import date

import pytest

from console.scp import (
    ApiVersion,
    ScpBadResponse,
    header_value_for,
    parse_api_versions,
    version_standing,
)

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
            not_before=date(2026, 2, 23),
            not_after=None,
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


@pytest.mark.parametrize(
    "name", ["not_after", "deprecated_at", "sunset", "removal_date", "end_of_life"]
)
def test_the_removal_date_is_read_under_each_guessed_name(name: str) -> None:
    [entry] = parse_api_versions(
        {"versions": [{"id": "v1.0", "status": "deprecated", name: "2027-01-31"}]}
    )
    assert entry.status == "DEPRECATED"
    assert entry.not_after == date(2027, 1, 31)


def test_a_timestamp_gives_its_date_and_nonsense_gives_none() -> None:
    entries = parse_api_versions(
        {
            "versions": [
                {"id": "v1.0", "status": "DEPRECATED", "sunset": "2027-01-31T00:00:00Z"},
                {"id": "v1.1", "status": "CURRENT", "not_before": "soon", "not_after": 12},
            ]
        }
    )
    assert [e.not_after for e in entries] == [date(2027, 1, 31), None]
    assert entries[1].not_before is None


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
                {"id": "v1.0", "status": "DEPRECATED", "not_after": "2027-01-31"},
                {"id": "v1.1", "status": "CURRENT"},
                {"id": "v1.2", "status": "PLANNED"},
            ]
        }
    )
    standing = version_standing(versions, "data-flow 1.0")
    assert standing.status == "DEPRECATED"
    assert standing.entry is not None and standing.entry.not_after == date(2027, 1, 31)
    assert standing.current is not None and standing.current.header_value == "data-flow 1.1"
    assert version_standing(versions, "Data-Flow  1.2").status == "PLANNED"
    missing = version_standing(versions, "data-flow 0.9")
    assert (missing.status, missing.entry) == (None, None)
    assert missing.current == standing.current


def test_the_client_asks_the_root_signed_and_without_a_version_header() -> None:
    session = FakeSession(response(200, DOCUMENTED))
    [entry] = make_client(session).api_versions()
    assert entry.header_value == "data-flow 1.0"
    [sent] = session.sent
    assert sent.method == "GET"
    assert sent.url == "https://data-flow.kr-west1.e.samsungsdscloud.com/"
    assert sent.headers["Scp-Signature"]
    assert sent.headers["Scp-Accesskey"]
    assert "Scp-Api-Version" not in sent.headers


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
