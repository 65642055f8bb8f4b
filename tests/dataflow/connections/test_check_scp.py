"""`manage.py check_scp` and connection_check against a local SCP stand-in over real sockets."""

from __future__ import annotations

import io
import re
import time
from datetime import date

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from console.dataflow.connections.scpcheck import connection_check, connections_check
from console.dataflow.models import ConnectionStatus, ScpConnection
from tests.dataflow.local_scp import ACCESS_KEY, SECRET_KEY, LocalScp

pytestmark = pytest.mark.django_db


def check_scp(*args: str) -> tuple[int, str]:
    """The command's exit status and its output."""
    out = io.StringIO()
    try:
        call_command("check_scp", *args, stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def without_ms(text: str) -> str:
    return re.sub(r"\d+ ms", "N ms", text)


def test_a_deprecated_version_names_its_last_day_and_days_left_and_warns_with_exit_0(
    default_on_local: LocalScp,
):
    status, out = check_scp()

    assert status == 0
    assert without_ms(out) == (
        f"default  {default_on_local.url}  WARNING  endpoint answers · keys sign correctly · "
        "data-flow 1.0 DEPRECATED, last supported day 2027-01-31, 58 days left "
        "(current: data-flow 1.1) · N ms\n"
    )
    assert "removal date not given" not in out
    row = ConnectionStatus.objects.get(name="default")
    assert (row.ok, row.endpoint_ok, row.keys_ok) == (True, True, True)
    assert (row.api_version, row.version_status, row.version_date, row.current_version) == (
        "data-flow 1.0",
        "DEPRECATED",
        date(2027, 1, 31),
        "data-flow 1.1",
    )
    assert row.round_trip_ms is not None
    root, listing = default_on_local.seen
    assert root["path"] == "/"
    assert listing["path"] == "/v1/data-flow-services?page=0&size=1&sort=created_dt:desc"
    assert listing["headers"]["Scp-Api-Version"] == "data-flow 1.0"


def test_the_version_list_is_read_with_a_plain_unsigned_get(default_on_local: LocalScp):
    check_scp()

    root = default_on_local.seen[0]
    assert root["path"] == "/"
    assert not [name for name in root["headers"] if name.lower().startswith("scp-")]


def test_a_root_that_wants_a_signature_is_asked_again_signed(default_on_local: LocalScp):
    default_on_local.root_needs_signature = True

    status, out = check_scp()

    assert status == 0
    assert "data-flow 1.0 DEPRECATED, last supported day 2027-01-31, 58 days left" in out
    plain, signed, listing = default_on_local.seen
    assert plain["path"] == signed["path"] == "/"
    assert "Scp-Signature" not in plain["headers"]
    assert signed["headers"]["Scp-Signature"]
    assert "Scp-Api-Version" not in signed["headers"]
    assert listing["path"].startswith("/v1/data-flow-services?")


def test_a_current_version_within_90_days_of_its_last_day_warns(default_on_local, settings):
    settings.SCP_API_VERSION = "data-flow 1.1"
    default_on_local.versions({"id": "v1.1", "status": "CURRENT", "not_before": "2027-03-04"})

    status, out = check_scp()

    assert status == 0
    assert without_ms(out) == (
        f"default  {default_on_local.url}  WARNING  endpoint answers · keys sign correctly · "
        "data-flow 1.1 CURRENT, last supported day 2027-03-04, 90 days left · N ms\n"
    )
    row = ConnectionStatus.objects.get()
    assert (row.ok, row.version_status, row.version_date) == (True, "CURRENT", date(2027, 3, 4))


def test_a_version_91_days_from_its_last_day_is_plain_ok(default_on_local):
    default_on_local.versions(
        {"id": "v1.0", "status": "SUPPORTED", "not_before": "2027-03-05"},
        {"id": "v1.1", "status": "CURRENT"},
    )

    status, out = check_scp()

    assert status == 0
    assert f"  {default_on_local.url}  OK  " in out
    assert "data-flow 1.0 SUPPORTED, last supported day 2027-03-05, 91 days left" in out


def test_one_day_left_is_said_in_the_singular(default_on_local):
    default_on_local.versions(
        {"id": "v1.0", "status": "DEPRECATED", "not_before": "2026-12-05"},
        {"id": "v1.1", "status": "CURRENT"},
    )

    status, out = check_scp()

    assert status == 0
    assert "last supported day 2026-12-05, 1 day left (current: data-flow 1.1)" in out


def test_a_passed_last_day_fails_and_exits_1(default_on_local):
    default_on_local.versions(
        {"id": "v1.0", "status": "DEPRECATED", "not_before": "2026-11-30"},
        {"id": "v1.1", "status": "CURRENT"},
    )

    status, out = check_scp()

    assert status == 1
    assert out == (
        f"default  {default_on_local.url}  FAILED  data-flow 1.0 DEPRECATED, last supported day "
        "2026-11-30 passed 4 days ago (current: data-flow 1.1)\n"
    )
    row = ConnectionStatus.objects.get()
    assert (row.ok, row.keys_ok, row.version_status, row.version_date) == (
        False,
        True,
        "DEPRECATED",
        date(2026, 11, 30),
    )


def test_a_current_version_past_its_day_warns_since_scp_still_serves_it(default_on_local, settings):
    # SCP's own documented example lists a CURRENT version whose not_before has passed.
    settings.SCP_API_VERSION = "data-flow 1.1"
    default_on_local.versions({"id": "v1.1", "status": "CURRENT", "not_before": "2026-02-23"})

    status, out = check_scp()

    assert status == 0
    assert (
        "data-flow 1.1 CURRENT, last supported day 2026-02-23 passed 284 days ago "
        "(SCP still lists it as CURRENT)" in out
    )
    assert "  WARNING  " in out


def test_a_deprecated_version_without_a_date_warns_that_none_is_given(default_on_local):
    default_on_local.versions(
        {"id": "v1.0", "status": "DEPRECATED"}, {"id": "v1.1", "status": "CURRENT"}
    )

    status, out = check_scp()

    assert status == 0
    assert (
        "WARNING  endpoint answers · keys sign correctly · data-flow 1.0 DEPRECATED, last "
        "supported day not given (current: data-flow 1.1)" in out
    )


def test_a_wrong_secret_fails_with_one_line_quoting_scp_and_exits_1(
    default_on_local: LocalScp, settings
):
    settings.SCP_SECRET_KEY = "not-the-secret"

    status, out = check_scp()

    assert status == 1
    assert out == (
        f"default  {default_on_local.url}  FAILED  keys refused: signature mismatch "
        "(HmacValidFail)\n"
    )
    assert "not-the-secret" not in out
    row = ConnectionStatus.objects.get(name="default")
    assert (row.ok, row.endpoint_ok, row.keys_ok) == (False, True, False)


def test_the_current_version_says_so_without_naming_another(default_on_local, settings):
    settings.SCP_API_VERSION = "data-flow 1.1"

    status, out = check_scp("--connection", "default")

    assert status == 0
    assert f"  {default_on_local.url}  OK  " in out
    assert "data-flow 1.1 CURRENT, last supported day 2028-02-23, 446 days left · " in out
    assert "(current:" not in out


def test_a_supported_version_names_the_current_one(default_on_local: LocalScp):
    default_on_local.versions(
        {"id": "v1.0", "status": "SUPPORTED"}, {"id": "v1.1", "status": "CURRENT"}
    )

    status, out = check_scp()

    assert status == 0
    assert "data-flow 1.0 SUPPORTED (current: data-flow 1.1)" in out


def test_a_version_no_longer_listed_fails(default_on_local: LocalScp):
    default_on_local.versions({"id": "v1.1", "status": "CURRENT"})

    status, out = check_scp()

    assert status == 1
    assert without_ms(out).endswith(
        "FAILED  data-flow 1.0 not listed by SCP (current: data-flow 1.1)\n"
    )
    assert ConnectionStatus.objects.get().version_status == "NOT_LISTED"


def test_a_planned_version_fails(default_on_local: LocalScp, settings):
    settings.SCP_API_VERSION = "data-flow 1.2"
    default_on_local.versions(
        {"id": "v1.1", "status": "CURRENT"},
        {"id": "v1.2", "status": "PLANNED", "not_before": "2027-03-01"},
    )

    status, out = check_scp()

    assert status == 1
    assert "FAILED  data-flow 1.2 PLANNED, not callable yet (current: data-flow 1.1)" in out
    assert "callable from" not in out
    assert ConnectionStatus.objects.get().version_date == date(2027, 3, 1)


def test_a_406_on_the_signed_call_fails_the_version(default_on_local: LocalScp):
    default_on_local.routes["/"] = (404, {"status": 404, "error": "Not Found", "path": "/"})
    default_on_local.routes["/v1/data-flow-services"] = (
        406,
        {"errors": [{"code": "NoSuchVersion", "detail": "version 1.0 removed", "status": 406}]},
    )

    status, out = check_scp()

    assert status == 1
    assert "FAILED  data-flow 1.0 refused by SCP: version 1.0 removed (NoSuchVersion)" in out
    row = ConnectionStatus.objects.get()
    assert (row.endpoint_ok, row.keys_ok, row.version_status) == (True, None, "REFUSED")


def test_any_http_answer_counts_as_an_answering_endpoint(default_on_local: LocalScp):
    # A root that serves no version list: the endpoint answers, the version stays unknown.
    default_on_local.routes.pop("/")

    status, out = check_scp()

    assert status == 0
    assert without_ms(out).endswith(
        "OK  endpoint answers · keys sign correctly · "
        "data-flow 1.0 status unknown (no version list: HTTP 404 Not Found) · N ms\n"
    )
    assert ConnectionStatus.objects.get().version_status == ""


def test_an_unreadable_version_list_leaves_the_status_unknown(default_on_local: LocalScp):
    default_on_local.routes["/"] = (200, {"versions": "v1.1"})

    status, out = check_scp()

    assert status == 0
    assert "data-flow 1.0 status unknown (no version list: HTTP 200, unreadable body)" in out


def test_an_unreachable_endpoint_fails_in_seconds(settings):
    closed = LocalScp()  # bound, never serving, then closed: nothing listens there
    closed.server.server_close()
    settings.SCP_OPENAPI_URL = closed.url
    settings.SCP_ACCESS_KEY = ACCESS_KEY
    settings.SCP_SECRET_KEY = SECRET_KEY
    started = time.monotonic()

    status, out = check_scp()

    assert time.monotonic() - started < 5
    assert status == 1
    assert out.startswith(f"default  {closed.url}  FAILED  endpoint does not answer: ")
    row = ConnectionStatus.objects.get()
    assert (row.ok, row.endpoint_ok, row.keys_ok, row.round_trip_ms) == (False, False, None, None)


def test_an_unknown_connection_is_a_clear_command_error(default_on_local):
    with pytest.raises(CommandError, match=r"No SCP connection named 'nope'; known: default\."):
        call_command("check_scp", "--connection", "nope", stdout=io.StringIO())


def test_a_disabled_connection_is_a_clear_command_error(default_on_local):
    row = ScpConnection.objects.create(
        name="seoul", base_url="https://x.example", access_key="a", enabled=False
    )
    row.set_secret_key("s")
    row.save()
    with pytest.raises(CommandError, match="'seoul' is disabled"):
        call_command("check_scp", "--connection", "seoul", stdout=io.StringIO())


def test_no_connection_at_all_is_a_command_error(settings):
    settings.SCP_ACCESS_KEY = ""
    with pytest.raises(CommandError, match="No SCP connection is configured"):
        call_command("check_scp", stdout=io.StringIO())


def test_every_connection_gets_a_line_with_its_own_version(default_on_local: LocalScp):
    other = ScpConnection(
        name="busan",
        base_url=default_on_local.url,
        access_key=ACCESS_KEY,
        api_version="data-flow 1.1",
    )
    other.set_secret_key(SECRET_KEY)
    other.save()

    status, out = check_scp()

    lines = out.splitlines()
    assert status == 0
    assert [line.split("  ")[0] for line in lines] == ["default", "busan"]
    assert "WARNING" in lines[0] and "data-flow 1.0 DEPRECATED" in lines[0]
    assert "OK" in lines[1] and "data-flow 1.1 CURRENT" in lines[1]
    assert set(ConnectionStatus.objects.values_list("name", flat=True)) == {"default", "busan"}


def test_a_check_upserts_one_row_per_connection_and_drops_removed_ones(
    default_on_local: LocalScp, settings
):
    ConnectionStatus.objects.create(name="gone-region", checked_at="2026-01-01T00:00:00Z")
    connection_check(name="default")
    settings.SCP_SECRET_KEY = "wrong"

    [verdict] = connections_check()

    assert not verdict.ok
    [row] = ConnectionStatus.objects.all()
    assert (row.name, row.ok, row.message) == (
        "default",
        False,
        "keys refused: signature mismatch (HmacValidFail)",
    )


# --- against the simulator (whatever it serves at its root, the signed list call decides) ----


def test_check_scp_against_the_simulator_passes(scp):
    status, out = check_scp()

    assert status == 0, out
    assert out.startswith(f"default  {scp.url}  OK  endpoint answers · keys sign correctly · ")


def test_check_scp_against_the_simulator_with_a_wrong_secret_fails_in_one_line(scp, settings):
    settings.SCP_SECRET_KEY = "wrong-secret"

    status, out = check_scp()

    assert status == 1
    [line] = out.splitlines()
    assert line.startswith(f"default  {scp.url}  FAILED  keys refused: ")
    assert line.endswith("(HmacValidFail)")
    assert "wrong-secret" not in line
