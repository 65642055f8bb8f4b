"""`manage.py check_scp` against the simulator, configured as SCP's version list may read."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.django_db


def check_scp() -> tuple[int, str]:
    out = io.StringIO()
    try:
        call_command("check_scp", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def test_data_flow_1_0_deprecated_names_its_date_and_the_current_version_and_exits_0(scp, settings):
    scp.set_versions(
        [
            {"id": "v1.0", "status": "DEPRECATED", "not_after": "2027-01-31"},
            {"id": "v1.1", "status": "CURRENT"},
        ]
    )
    settings.SCP_API_VERSION = "data-flow 1.0"

    status, out = check_scp()

    assert status == 0, out
    [line] = out.strip().splitlines()
    assert "DEPRECATED" in line and "2027-01-31" in line and "data-flow 1.1" in line
    assert "keys sign correctly" in line


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
