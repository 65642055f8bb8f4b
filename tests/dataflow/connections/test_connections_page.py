"""The connections page (admins and superusers only) and the API version banner."""

from __future__ import annotations

import html
import re
from datetime import date, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from console.dataflow.models import ConnectionStatus, ScpConnection
from tests.dataflow.local_scp import LIST_DAY
from tests.dataflow.pages import visible_text

pytestmark = pytest.mark.django_db
PAGE = reverse("dataflow:connections")
CHECK = reverse("dataflow:connections-check")
LIST = reverse("dataflow:service-list")
BANNER = (
    "The SCP connection default uses data-flow 1.0, which SCP lists as DEPRECATED with "
    "2027-01-31 as its last supported day (58 days left); switch to data-flow 1.1."
)


@pytest.fixture(autouse=True)
def default_on_1_0(settings, on_list_day):
    """The default connection uses data-flow 1.0 unless a test says otherwise; it is LIST_DAY."""
    settings.SCP_API_VERSION = "data-flow 1.0"


@pytest.fixture
def superuser(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "pw-root-123")


def deprecated_default(**fields) -> ConnectionStatus:
    values = {
        "name": "default",
        "checked_at": timezone.now(),
        "ok": True,
        "endpoint_ok": True,
        "keys_ok": True,
        "api_version": "data-flow 1.0",
        "version_status": "DEPRECATED",
        "version_date": date(2027, 1, 31),
        "current_version": "data-flow 1.1",
        "round_trip_ms": 12,
        "message": "endpoint answers · keys sign correctly · data-flow 1.0 DEPRECATED",
    }
    values.update(fields)
    return ConnectionStatus.objects.create(**values)


@pytest.mark.parametrize("person", ["lead_user", "support_user", "outsider"])
def test_only_admins_see_and_check_connections(client, request, person, default_on_local):
    client.force_login(request.getfixturevalue(person))

    assert client.get(PAGE).status_code == 403
    assert client.post(CHECK).status_code == 403
    assert not ConnectionStatus.objects.exists()
    assert default_on_local.seen == []
    assert 'data-testid="nav-connections"' not in client.get(LIST).content.decode()


def test_admin_sees_each_connection_before_any_check(client, admin_user, settings):
    ScpConnection.objects.create(
        name="busan",
        base_url="https://data-flow.kr-east1.e.samsungsdscloud.com",
        access_key="a",
        api_version="data-flow 1.0",
    )
    ScpConnection.objects.create(
        name="off", base_url="https://off.example", access_key="a", enabled=False
    )
    client.force_login(admin_user)

    response = client.get(PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="connection-row"') == 2
    text = visible_text(response)
    assert f"default {settings.SCP_OPENAPI_URL} data-flow 1.0 never" in text
    assert "busan https://data-flow.kr-east1.e.samsungsdscloud.com data-flow 1.0 never" in text
    assert "off.example" not in text
    assert 'data-testid="nav-connections"' in html


def test_check_now_runs_the_checks_and_shows_the_verdict(client, admin_user, default_on_local):
    client.force_login(admin_user)

    response = client.post(CHECK)

    assert response.status_code == 302
    assert response["Location"] == PAGE
    row = ConnectionStatus.objects.get(name="default")
    assert row.ok and row.version_status == "DEPRECATED"
    page = client.get(PAGE)
    text = visible_text(page)
    assert "Checked 1 connection(s): all OK." in text
    assert "DEPRECATED last supported day 2027-01-31, 58 days left" in text
    assert "current: data-flow 1.1" in text
    assert "OK endpoint answers · keys sign correctly" in text
    assert BANNER in text


def test_check_now_says_which_connection_failed(client, admin_user, default_on_local, settings):
    settings.SCP_SECRET_KEY = "wrong"
    client.force_login(admin_user)

    text = visible_text(client.post(CHECK, follow=True))

    assert "Checked 1; failed: default." in text
    assert "FAILED keys refused: signature mismatch (HmacValidFail)" in text


def test_check_now_needs_a_post_and_a_csrf_token(admin_user, default_on_local):
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(admin_user)

    assert browser.get(CHECK).status_code == 405
    assert browser.post(CHECK).status_code == 403
    assert not ConnectionStatus.objects.exists()


def test_superusers_see_the_page(client, superuser):
    client.force_login(superuser)
    assert client.get(PAGE).status_code == 200


@pytest.mark.parametrize("person", ["admin_user", "superuser"])
def test_the_banner_warns_admins_and_superusers_on_every_page(client, request, person):
    deprecated_default()
    client.force_login(request.getfixturevalue(person))

    for url in (LIST, PAGE):
        response = client.get(url)
        assert BANNER in visible_text(response)
        assert f'href="{PAGE}"' in response.content.decode()


@pytest.mark.parametrize("person", ["lead_user", "support_user", "outsider"])
def test_the_banner_is_not_shown_to_other_roles_and_costs_them_no_query(client, request, person):
    deprecated_default()
    client.force_login(request.getfixturevalue(person))

    with CaptureQueriesContext(connection) as queries:
        response = client.get(LIST)

    assert "switch to data-flow 1.1" not in visible_text(response)
    assert not any("connectionstatus" in q["sql"].lower() for q in queries.captured_queries)


def test_the_banner_costs_admins_one_query(client, admin_user):
    deprecated_default()
    client.force_login(admin_user)

    with CaptureQueriesContext(connection) as queries:
        client.get(LIST)

    status_queries = [q for q in queries.captured_queries if "connectionstatus" in q["sql"].lower()]
    assert len(status_queries) == 1


def test_a_version_no_longer_listed_is_a_banner_too(client, admin_user):
    deprecated_default(version_status="NOT_LISTED", version_date=None, ok=False)
    client.force_login(admin_user)

    assert (
        "The SCP connection default uses data-flow 1.0, which SCP no longer lists; "
        "switch to data-flow 1.1." in visible_text(client.get(LIST))
    )


@pytest.mark.parametrize("status", ["CURRENT", "SUPPORTED", ""])
def test_no_banner_when_the_version_is_fine_or_unknown(client, admin_user, status):
    deprecated_default(version_status=status, version_date=None)
    client.force_login(admin_user)

    assert 'data-testid="scp-version-banner"' not in client.get(LIST).content.decode()


def test_no_banner_once_the_default_connection_moved_to_another_version(
    client, admin_user, settings
):
    deprecated_default()
    settings.SCP_API_VERSION = "data-flow 1.1"
    client.force_login(admin_user)

    assert 'data-testid="scp-version-banner"' not in client.get(LIST).content.decode()


BANNER_RE = re.compile(
    r'<div class="alert alert-(\w+)[^"]*"[^>]*data-testid="scp-version-banner">(.*?)</div></div>',
    re.S,
)


def banners(client) -> list[tuple[str, str]]:
    """Each banner on the service list: its alert colour and its text."""
    page = client.get(LIST).content.decode()
    return [
        (colour, " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()))
        for colour, body in BANNER_RE.findall(page)
    ]


def test_the_banner_names_the_last_day_and_the_days_left(client, admin_user):
    deprecated_default()
    client.force_login(admin_user)

    assert banners(client) == [("warning", BANNER + " SCP connections")]


def test_the_banner_counts_the_days_left_when_it_is_shown(client, admin_user):
    deprecated_default()

    with time_machine.travel(LIST_DAY + timedelta(days=57), tick=False):
        client.force_login(admin_user)
        [(colour, text)] = banners(client)

    assert colour == "warning"
    assert "2027-01-31 as its last supported day (1 day left)" in text


def test_a_current_version_within_90_days_of_its_last_day_is_a_banner(client, admin_user, settings):
    settings.SCP_API_VERSION = "data-flow 1.1"
    deprecated_default(
        api_version="data-flow 1.1", version_status="CURRENT", version_date=date(2027, 3, 4)
    )
    client.force_login(admin_user)

    assert banners(client) == [
        (
            "warning",
            "The SCP connection default uses data-flow 1.1, which SCP lists as CURRENT with "
            "2027-03-04 as its last supported day (90 days left); switch to its successor once "
            "SCP lists one. SCP connections",
        )
    ]


def test_no_banner_91_days_before_the_last_day_of_a_supported_version(client, admin_user):
    deprecated_default(version_status="SUPPORTED", version_date=date(2027, 3, 5))
    client.force_login(admin_user)

    assert banners(client) == []


def test_a_passed_last_day_is_a_red_banner_and_a_red_line_on_the_page(client, admin_user):
    deprecated_default(version_date=date(2026, 11, 30), ok=False)
    client.force_login(admin_user)

    assert banners(client) == [
        (
            "danger",
            "The SCP connection default uses data-flow 1.0, whose last supported day was "
            "2026-11-30 (4 days ago); switch to data-flow 1.1. SCP connections",
        )
    ]
    page = client.get(PAGE).content.decode()
    line = re.search(r'text-nowrap ([\w-]+)" data-testid="version-last-day">(.*?)</div>', page)
    assert line is not None
    assert line.groups() == (
        "text-danger-emphasis",
        "last supported day 2026-11-30, passed 4 days ago",
    )


def test_the_page_shows_the_last_day_of_every_checked_version(client, admin_user):
    deprecated_default(version_status="SUPPORTED", version_date=date(2027, 6, 3))
    client.force_login(admin_user)

    text = visible_text(client.get(PAGE))

    assert "data-flow 1.0 SUPPORTED last supported day 2027-06-03, 181 days left" in text
