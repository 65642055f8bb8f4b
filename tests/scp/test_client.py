"""The client against a fake session: what goes on the wire, retries, paging, secrecy."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from console.scp import (
    ScpBadCredentials,
    ScpBadResponse,
    ScpClient,
    ScpForbidden,
    ScpInvalidInput,
    ScpNotFound,
    ScpUnavailable,
    ServiceConfig,
    Workload,
    Workloads,
    build_update_body,
    sign,
)

from .fakes import Clock, FakeSession, Sleeps, fixture, fixture_text, full_detail, response

HOST = "https://data-flow.kr-west1.e.samsungsdscloud.com"
ACCESS_KEY = "AKIDEXAMPLE0001"
SECRET_KEY = "SECRETKEYEXAMPLE0001"
WORKLOADS = Workloads(
    nifi=Workload(2000, 1024, 1, "1.27.1"),
    nifi_registry=Workload(2000, 1024, 1, "1.27.1"),
    zookeeper=Workload(2000, 1024, 3, "3.9.2"),
)


def make_client(session: FakeSession, **options: object) -> ScpClient:
    """A client on the fake session with a frozen clock and recorded sleeps."""
    settings: dict[str, object] = {
        "base_url": HOST,
        "access_key": ACCESS_KEY,
        "secret_key": SECRET_KEY,
        "session": session,
        "clock": Clock(),
        "sleep": Sleeps(),
    }
    settings.update(options)
    return ScpClient(**settings)  # type: ignore[arg-type]


def page(ids: list[str], total: int | None) -> requests.Response:
    """One list page holding services with these ids."""
    body: dict[str, object] = {
        "contents": [{"data_flow_service_id": i, "data_flow_service_name": i} for i in ids]
    }
    if total is not None:
        body["total_count"] = total
    return response(200, body)


def test_put_is_signed_like_the_reference_vector() -> None:
    session = FakeSession(response(202, fixture("update-response-202.seed.json")))
    make_client(session).update_service("0a1b2c3d4e5f", {"description": "x"})
    sent = session.sent[0]
    assert sent.method == "PUT"
    assert sent.url == f"{HOST}/v1/data-flow-services/0a1b2c3d4e5f"
    assert sent.headers["Scp-Timestamp"] == "1605290625682"
    assert sent.headers["Scp-Signature"] == "sJ/TGc2j6a4rPMOwGfw35gmMtUzVMI3t1UFLufleiME="


def test_list_url_is_signed_like_the_reference_vector() -> None:
    session = FakeSession(page([], 0))
    assert make_client(session).list_services() == []
    sent = session.sent[0]
    assert sent.url == f"{HOST}/v1/data-flow-services?page=0&size=20&sort=created_dt:desc"
    assert sent.headers["Scp-Signature"] == "2n9pRFtggAIa2RIhoVnbotPaVgLXv+houHqGeVFlkJU="


def test_korean_filter_is_encoded_once_and_signed_as_sent() -> None:
    session = FakeSession(page([], 0))
    make_client(session).list_services(data_flow_service_name="한")
    sent = session.sent[0]
    assert "data_flow_service_name=%ED%95%9C" in (sent.url or "")
    assert "%25ED" not in (sent.url or "")
    expected = sign("GET", sent.url or "", 1605290625682, ACCESS_KEY, SECRET_KEY)
    assert sent.headers["Scp-Signature"] == expected


def test_every_call_carries_the_documented_headers() -> None:
    session = FakeSession(response(200, full_detail()))
    make_client(session, api_version="data-flow 1.2", language="ko-KR").get_service("dfs-0001")
    headers = session.sent[0].headers
    assert headers["Scp-Accesskey"] == ACCESS_KEY
    assert headers["Scp-ClientType"] == "Openapi"
    assert headers["Scp-Api-Version"] == "data-flow 1.2"
    assert headers["Accept-Language"] == "ko-KR"
    assert headers["Accept"] == "application/json"
    assert headers["Content-Type"] == "application/json"
    assert headers["Scp-Request-Path"] == "openapi"
    assert SECRET_KEY not in json.dumps(dict(headers))


def test_every_call_has_a_connect_and_read_timeout_and_no_redirects() -> None:
    session = FakeSession(response(200, full_detail()))
    make_client(session, connect_timeout=2.0, read_timeout=7.0).get_service("dfs-0001")
    assert session.send_kwargs[0]["timeout"] == (2.0, 7.0)
    assert session.send_kwargs[0]["allow_redirects"] is False


@pytest.mark.parametrize("base_url", [HOST, HOST + "/", HOST + "//"])
def test_base_url_works_with_or_without_a_trailing_slash(base_url: str) -> None:
    session = FakeSession(response(200, full_detail()))
    make_client(session, base_url=base_url).get_service("dfs-0001")
    assert session.sent[0].url == f"{HOST}/v1/data-flow-services/dfs-0001"


def test_base_url_with_a_path_prefix_keeps_it() -> None:
    session = FakeSession(response(200, full_detail()))
    make_client(session, base_url="http://127.0.0.1:8000/scp/").get_service("dfs-0001")
    assert session.sent[0].url == "http://127.0.0.1:8000/scp/v1/data-flow-services/dfs-0001"


@pytest.mark.parametrize("base_url", ["", "data-flow.example", "ftp://x", "https://x/?a=1"])
def test_a_base_url_that_is_not_http_is_refused_at_once(base_url: str) -> None:
    with pytest.raises(ValueError, match="base_url"):
        make_client(FakeSession(), base_url=base_url)


def test_service_ids_are_percent_quoted_in_the_path() -> None:
    session = FakeSession(response(200, full_detail()))
    make_client(session).get_service("a/b c?d")
    assert session.sent[0].url == f"{HOST}/v1/data-flow-services/a%2Fb%20c%3Fd"


def test_an_empty_id_is_a_programming_error_not_a_request() -> None:
    session = FakeSession()
    with pytest.raises(ValueError):
        make_client(session).get_service(" ")
    assert session.sent == []


def test_get_service_parses_the_detail() -> None:
    session = FakeSession(response(200, full_detail(state="Running")))
    detail = make_client(session).get_service("dfs-0001")
    assert detail.id == "dfs-0001"
    assert detail.is_state("running")
    assert detail.raw["account"]["account_password"] == "***"


def test_list_reads_every_page_when_size_is_ignored() -> None:
    ids = [f"dfs-{n:03}" for n in range(45)]
    pages = [page(ids[i : i + 10], 45) for i in range(0, 45, 10)]
    session = FakeSession(*pages)
    services = make_client(session).list_services(page_size=20)
    assert [s.id for s in services] == ids
    pages_asked = [dict(parse_qsl(urlsplit(s.url or "").query))["page"] for s in session.sent]
    assert pages_asked == ["0", "1", "2", "3", "4"]


def test_list_stops_on_a_short_page_when_no_total_is_given() -> None:
    session = FakeSession(page(["a", "b"], None), page(["c"], None), page([], None))
    services = make_client(session).list_services()
    assert [s.id for s in services] == ["a", "b", "c"]
    assert len(session.sent) == 2  # the short second page ends the list


def test_list_stops_on_an_empty_page_when_no_total_is_given() -> None:
    session = FakeSession(page(["a", "b"], None), page(["c", "d"], None), page([], None))
    services = make_client(session).list_services()
    assert [s.id for s in services] == ["a", "b", "c", "d"]
    assert len(session.sent) == 3


def test_list_stops_when_a_page_only_repeats_what_was_seen() -> None:
    # A server that ignores `page` would otherwise be read forever.
    session = FakeSession(page(["a", "b"], 100), page(["a", "b"], 100))
    services = make_client(session).list_services()
    assert [s.id for s in services] == ["a", "b"]
    assert len(session.sent) == 2


def test_list_drops_duplicates_across_pages() -> None:
    session = FakeSession(page(["a", "b"], 3), page(["b", "c"], 3))
    assert [s.id for s in make_client(session).list_services()] == ["a", "b", "c"]


def test_list_sends_filters_and_skips_none() -> None:
    session = FakeSession(page([], 0))
    make_client(session).list_services(state="RUNNING", created_by=None)  # type: ignore[arg-type]
    query = dict(parse_qsl(urlsplit(session.sent[0].url or "").query))
    assert query == {"state": "RUNNING", "page": "0", "size": "20", "sort": "created_dt:desc"}


def test_a_get_is_retried_after_a_503_and_signed_afresh() -> None:
    sleeps = Sleeps()
    session = FakeSession(response(503, text=""), response(200, full_detail()))
    client = make_client(session, clock=Clock(step=1.5), sleep=sleeps)
    assert client.get_service("dfs-0001").id == "dfs-0001"
    first, second = session.sent
    assert first.headers["Scp-Timestamp"] != second.headers["Scp-Timestamp"]
    assert first.headers["Scp-Signature"] != second.headers["Scp-Signature"]
    assert sleeps == [0.5]


def test_transient_errors_back_off_exponentially_then_give_up() -> None:
    sleeps = Sleeps()
    session = FakeSession(*(response(502, text="") for _ in range(4)))
    client = make_client(session, max_attempts=4, backoff_seconds=0.25, sleep=sleeps)
    with pytest.raises(ScpUnavailable) as caught:
        client.get_service("dfs-0001")
    assert caught.value.status == 502
    assert sleeps == [0.25, 0.5, 1.0]
    assert len(session.sent) == 4


def test_a_timeout_is_unavailable_after_every_attempt() -> None:
    session = FakeSession(*(requests.ReadTimeout("slow") for _ in range(3)))
    with pytest.raises(ScpUnavailable, match="did not answer in time"):
        make_client(session).get_service("dfs-0001")
    assert len(session.sent) == 3


def test_a_connection_error_is_unavailable() -> None:
    session = FakeSession(*(requests.ConnectionError("refused") for _ in range(3)))
    with pytest.raises(ScpUnavailable, match="Could not reach SCP"):
        make_client(session).list_services()


def test_a_200_that_is_not_json_is_retried_then_a_bad_response() -> None:
    session = FakeSession(response(200, text="<html>maintenance</html>"), response(200, text="[]"))
    with pytest.raises(ScpBadResponse):
        make_client(session, max_attempts=2).get_service("dfs-0001")
    assert len(session.sent) == 2


def test_a_bad_body_then_a_good_one_succeeds() -> None:
    session = FakeSession(response(200, text="[]"), response(200, full_detail()))
    assert make_client(session).get_service("dfs-0001").id == "dfs-0001"


@pytest.mark.parametrize(
    ("status", "text", "error"),
    [
        (400, fixture_text("error-400-validation.json"), ScpInvalidInput),
        (401, fixture_text("error-401-hmac.json"), ScpBadCredentials),
        (403, "", ScpForbidden),
        (404, fixture_text("error-404-gateway.json"), ScpNotFound),
    ],
)
def test_permanent_errors_are_never_retried(status: int, text: str, error: type) -> None:
    sleeps = Sleeps()
    session = FakeSession(response(status, text=text))
    with pytest.raises(error):
        make_client(session, sleep=sleeps).get_service("dfs-0001")
    assert len(session.sent) == 1
    assert sleeps == []


def test_a_put_is_sent_once_even_when_scp_is_busy() -> None:
    session = FakeSession(response(503, text=""), response(202, full_detail()))
    with pytest.raises(ScpUnavailable):
        make_client(session).update_service("dfs-0001", {"description": "x"})
    assert len(session.sent) == 1


def test_a_put_that_times_out_warns_it_may_have_been_applied() -> None:
    session = FakeSession(requests.ReadTimeout("slow"))
    with pytest.raises(ScpUnavailable, match="may or may not have been applied"):
        make_client(session).update_service("dfs-0001", {"description": "x"})


def test_a_put_with_an_unreadable_202_says_it_was_probably_accepted() -> None:
    session = FakeSession(response(202, text=""))
    with pytest.raises(ScpBadResponse, match="accepted the update"):
        make_client(session).update_service("dfs-0001", {"description": "x"})


def test_a_put_validation_error_is_invalid_input_with_details() -> None:
    session = FakeSession(response(400, text=fixture_text("error-400-validation.json")))
    with pytest.raises(ScpInvalidInput) as caught:
        make_client(session).update_service("dfs-0001", {"description": "x"})
    assert caught.value.details == ("Field required", "Field required")


def test_update_sends_the_body_as_json_and_parses_the_202() -> None:
    body = build_update_body(ServiceConfig(account_id="nifiadmin", workloads=WORKLOADS))
    echo = {**full_detail(state="Updating"), "service_workload": ""}
    session = FakeSession(response(202, echo))
    detail = make_client(session).update_service("dfs-0001", body)
    assert json.loads(session.sent[0].body or b"") == body
    assert detail.is_state("UPDATING")
    assert detail.config.workloads is None


def test_a_redirect_is_not_followed_and_means_a_wrong_address() -> None:
    redirect = response(301, text="")
    redirect.headers["Location"] = "https://elsewhere.example/"
    session = FakeSession(redirect)
    with pytest.raises(ScpNotFound, match="base URL"):
        make_client(session).get_service("dfs-0001")
    assert len(session.sent) == 1


def test_validate_resources_posts_workloads_as_strings() -> None:
    session = FakeSession(
        response(200, {"result": False, "err_code": "LACK_CPU", "cpu": 1500, "memory": "2048"})
    )
    check = make_client(session).validate_resources("dfs-0001", WORKLOADS)
    sent = session.sent[0]
    assert sent.method == "POST"
    assert sent.url == f"{HOST}/v1/data-flow-services/dfs-0001/validate-resources"
    assert json.loads(sent.body or b"") == {
        "service_workload": {
            "nifi": {"cpu": "2000", "memory": "1024", "replica": "1", "version": "1.27.1"},
            "nifi_registry": {"cpu": "2000", "memory": "1024", "replica": "1", "version": "1.27.1"},
            "zookeeper": {"cpu": "2000", "memory": "1024", "replica": "3", "version": "3.9.2"},
        }
    }
    assert (check.ok, check.err_code, check.cpu, check.memory) == (
        False,
        "LACK_CPU",
        "1500",
        "2048",
    )


def test_validate_resources_is_retried_on_a_transient_error() -> None:
    session = FakeSession(response(504, text=""), response(200, {"result": "true"}))
    assert make_client(session).validate_resources("dfs-0001", WORKLOADS).ok is True
    assert len(session.sent) == 2


def test_sub_versions_reads_the_versions_on_offer() -> None:
    session = FakeSession(
        response(
            200,
            {
                "data_flow_service_count": 2,
                "versions": {
                    "nifi": "1.27.1,2.0.0",
                    "nifiregistry": ["1.27.1"],
                    "zookeeper": "3.9.2",
                },
            },
        )
    )
    versions = make_client(session).sub_versions("df 1")
    assert session.sent[0].url == f"{HOST}/v1/data-flow-services/data-flows/df%201/sub-versions"
    assert versions.nifi == ("1.27.1", "2.0.0")
    assert versions.nifi_registry == ("1.27.1",)
    assert versions.zookeeper == ("3.9.2",)
    assert versions.service_count == 2


def test_repr_shows_the_address_and_access_key_but_never_the_secret() -> None:
    client = make_client(FakeSession())
    assert repr(client) == f"ScpClient(base_url='{HOST}', access_key='{ACCESS_KEY}')"
    assert SECRET_KEY not in repr(client)
    assert SECRET_KEY not in str(client)
    assert SECRET_KEY not in repr(vars(client) if hasattr(client, "__dict__") else "")


def test_secrets_echoed_in_an_error_answer_are_scrubbed_everywhere(
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "N3w!passWord"
    echo = json.dumps(
        {
            "errors": [
                {
                    "code": "ValidationError",
                    "detail": [f"bad value {password}", f"key {SECRET_KEY} refused"],
                    "global_request_id": "req-1",
                }
            ],
            "account": {"account_password": password},
        }
    )
    session = FakeSession(response(400, text=echo))
    body = build_update_body(ServiceConfig(account_id="nifiadmin"), account_password=password)
    caplog.set_level(logging.DEBUG, logger="console.scp")
    with pytest.raises(ScpInvalidInput) as caught:
        make_client(session).update_service("dfs-0001", body)
    error = caught.value
    for shown in (
        str(error),
        repr(error),
        error.message,
        error.detail,
        error.raw_text,
        json.dumps(error.to_dict()),
        caplog.text,
    ):
        assert password not in shown
        assert SECRET_KEY not in shown


def test_one_log_line_per_attempt_without_bodies_or_header_values(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="console.scp")
    session = FakeSession(response(503, text="busy"), response(200, full_detail()))
    make_client(session).get_service("dfs-0001")
    records = [r for r in caplog.records if r.name == "console.scp"]
    assert len(records) == 2
    assert "GET /v1/data-flow-services/dfs-0001 -> 503" in records[0].getMessage()
    assert "attempt 1/3" in records[0].getMessage()
    assert "-> 200" in records[1].getMessage()
    signature = session.sent[1].headers["Scp-Signature"]
    for text in (caplog.text,):
        assert SECRET_KEY not in text
        assert signature not in text
        assert "S3cret" not in text
        assert "busy" not in text


def test_a_client_reads_the_environments_proxy_and_ca_bundle_once(monkeypatch):
    from console.scp import ScpClient

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    monkeypatch.setenv("NO_PROXY", "bypass.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company.pem")
    proxied = ScpClient(base_url="https://scp.example", access_key="a", secret_key="s")
    direct = ScpClient(base_url="https://bypass.example", access_key="a", secret_key="s")
    assert proxied._session.proxies.get("https") == "http://proxy.internal:3128"
    assert direct._session.proxies == {}
    assert proxied._session.verify == "/etc/ssl/company.pem"
    assert not proxied._session.trust_env  # not read again on every call
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")
    assert ScpClient(base_url="https://x.example", access_key="a", secret_key="s")._session.verify
