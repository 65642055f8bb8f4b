"""`manage.py check_scp` against the simulator, configured as SCP's version list may read."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

pytestmark = pytest.mark.django_db


def check_scp() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_scp", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def deprecated_1_0(scp, *, days: int) -> str:
    """List data-flow 1.0 as DEPRECATED with its last supported day `days` from today."""
    last_day = (timezone.localdate() + timedelta(days=days)).isoformat()
    scp.set_versions(
        [
            {"id": "v1.0", "status": "DEPRECATED", "not_before": last_day},
            {"id": "v1.1", "status": "CURRENT"},
        ]
    )
    return last_day


def test_data_flow_1_0_deprecated_names_its_last_day_and_days_left_and_exits_0(scp, settings):
    last_day = deprecated_1_0(scp, days=58)
    settings.SCP_API_VERSION = "data-flow 1.0"

    status, out = check_scp()

    assert status == 0, out
    [line] = out.strip().splitlines()
    assert f"  {scp.url}  WARNING  endpoint answers · keys sign correctly · " in line
    assert (
        f"data-flow 1.0 DEPRECATED, last supported day {last_day}, 58 days left "
        "(current: data-flow 1.1)" in line
    )


def test_the_version_list_is_fetched_unsigned_and_without_a_version(scp, settings):
    settings.SCP_API_VERSION = "data-flow 1.0"

    check_scp()

    root, listing = scp.requests()
    assert (root["path"], root["verdict"]) == ("/", "version list (unsigned)")
    assert not [name for name in root["headers"] if name.lower().startswith("scp-")]
    assert listing["headers"]["Scp-Api-Version"] == "data-flow 1.0"
    assert listing["headers"]["Scp-Signature"]


def test_a_passed_last_day_fails_and_the_simulator_refuses_the_version(scp, settings):
    last_day = deprecated_1_0(scp, days=-3)
    settings.SCP_API_VERSION = "data-flow 1.0"

    status, out = check_scp()

    assert status == 1
    [line] = out.strip().splitlines()
    assert f"FAILED  data-flow 1.0 DEPRECATED, last supported day {last_day} passed 3 days" in line
    assert "data-flow 1.0 refused by SCP: " in line and "(NoSuchVersion)" in line


def test_the_default_list_serves_both_versions_far_from_their_last_day(scp, settings):
    for version in ("data-flow 1.0", "data-flow 1.1"):
        settings.SCP_API_VERSION = version

        status, out = check_scp()

        assert status == 0, out
        assert f"  {scp.url}  OK  " in out and "days left" in out


def test_a_wrong_secret_fails_with_one_clear_line(scp, settings):
    settings.SCP_SECRET_KEY = "NOT-THE-SECRET"

    status, out = check_scp()

    assert status != 0
    [line] = out.strip().splitlines()
    assert "FAILED" in line and "HmacValidFail" in line


def test_a_version_scp_no_longer_lists_fails(scp, settings):
    scp.set_versions([{"id": "v1.1", "status": "CURRENT"}])
    settings.SCP_API_VERSION = "data-flow 1.0"

    status, out = check_scp()

    assert status != 0
    assert "data-flow 1.0" in out


def test_check_scp_reports_the_throttling_it_met(scp, settings):
    # SCP's edge lets one request through in 1.5 s: the signed list call after the version
    # list meets a 417, and the check waits the pause out and tries it again.
    scp.fault(edge_limit=1, edge_window=1.5)

    status, line = check_scp()

    assert status == 0, line
    assert "SCP throttled 1 request of the check; waited 2 s" in line
    assert "keys sign correctly" in line
