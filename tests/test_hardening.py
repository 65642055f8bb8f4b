"""Doors kept shut: sign-in throttling, safe links, SCP URLs (checked again as each request
leaves), mail-gated and limited password reset, limited password change, forwarded headers
from trusted proxies only, private pages, bounded sessions, admin-only refresh, /healthz, and
logs that say one line per expected 403/404 and never a reset token."""

from __future__ import annotations

import json
import logging
import socket
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.template import Context, Template
from django.test import RequestFactory
from django.urls import reverse

from console.clientip import ForwardedHeadersMiddleware, client_address
from console.config import env_networks
from console.dataflow.connections.clients import ConnectionUnavailable, scp_client_for
from console.dataflow.connections.endpoints import scp_url_problem
from console.dataflow.inventory.sync import services_sync
from console.dataflow.models import ScpConnection, Service
from console.dataflow.words.scp_text import scp_error_text
from console.logjson import JsonLineFormatter, ResetTokensRedacted
from console.scp import ScpAddressRefused, ScpClient
from tests.conftest import PASSWORD

LOGIN = reverse("login")


# --- Sign-in throttling ---------------------------------------------------------------------


def _sign_in(client, username: str, password: str):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.mark.django_db
def test_twelve_wrong_passwords_lock_the_sign_in_even_for_the_right_one(client, admin_user):
    for _ in range(12):
        response = _sign_in(client, "alice", "wrong-password")
    assert response.status_code == 429

    response = _sign_in(client, "alice", PASSWORD)

    assert response.status_code == 429
    page = response.content.decode()
    assert 'data-testid="locked-out"' in page
    assert "Too many failed sign-ins" in page
    assert "15 min" in page
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_nine_wrong_passwords_do_not_lock(client, admin_user):
    for _ in range(9):
        assert _sign_in(client, "alice", "wrong-password").status_code == 200

    assert _sign_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_superuser_lifting_the_lock_lets_the_person_in(client, admin_user, django_user_model):
    from axes.models import AccessAttempt

    for _ in range(12):
        _sign_in(client, "alice", "wrong-password")
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    listing = client.get(reverse("admin:axes_accessattempt_changelist"))
    assert listing.status_code == 200
    assert "alice" in listing.content.decode()
    attempt = AccessAttempt.objects.get(username="alice")
    client.post(
        reverse("admin:axes_accessattempt_changelist"),
        {"action": "delete_selected", "_selected_action": [attempt.pk], "post": "yes"},
    )
    client.logout()

    assert _sign_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_lock_ends_after_the_cool_off(client, admin_user, settings):
    with time_machine.travel("2026-03-01 09:00:00Z", tick=False):
        for _ in range(12):
            _sign_in(client, "alice", "wrong-password")
        assert _sign_in(client, "alice", PASSWORD).status_code == 429
    with time_machine.travel("2026-03-01 09:00:00Z", tick=False) as traveller:
        traveller.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert _sign_in(client, "alice", PASSWORD).status_code == 302


@pytest.mark.django_db
def test_a_lock_is_per_username(client, admin_user, lead_user):
    for _ in range(12):
        _sign_in(client, "alice", "wrong-password")

    assert _sign_in(client, "leo", PASSWORD).status_code == 302


# --- Links from SCP -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://nifi.example.com/nifi", "https://nifi.example.com/nifi"),
        ("http://10.0.0.1:8080/nifi", "http://10.0.0.1:8080/nifi"),
        ("javascript:alert(1)", ""),
        ("JavaScript:alert(1)", ""),
        (" javascript:alert(1)", ""),
        ("data:text/html,<script>alert(1)</script>", ""),
        ("vbscript:msgbox", ""),
        ("//evil.example.com", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_link_keeps_only_http_and_https(url, expected):
    rendered = Template("{% load console_tags %}{{ url|safe_link }}").render(Context({"url": url}))
    assert rendered == expected.replace("<", "&lt;").replace(">", "&gt;")


@pytest.mark.django_db
def test_a_javascript_url_from_scp_never_becomes_a_link(client, admin_user, imported):
    service = next(iter(imported.values()))
    Service.objects.filter(pk=service.pk).update(
        web_url_nifi="javascript:alert(1)", web_url_registry="https://registry.example.com/"
    )
    client.force_login(admin_user)

    detail = client.get(reverse("dataflow:service-detail", args=[service.pk])).content.decode()
    listing = client.get(reverse("dataflow:service-list")).content.decode()

    for page in (detail, listing):
        assert "javascript:" not in page
        assert 'href="https://registry.example.com/"' in page
    assert 'data-testid="link-nifi"' not in detail
    assert 'data-testid="link-registry"' in detail


# --- SCP connection URLs --------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://data-flow.kr-west1.e.samsungsdscloud.com",
        "https://data-flow.kr-west1.e.samsungsdscloud.com:8443/",
        "http://127.0.0.1:8001",
        "http://127.0.0.2:8001",
        "http://[::1]:8001",
        "http://localhost:8001",
        "https://10.20.30.40",
    ],
)
def test_allowed_scp_urls(url):
    assert scp_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://data-flow.example.com", "Use https://"),
        ("http://10.0.0.5:8001", "Use https://"),
        ("ftp://data-flow.example.com", "Use an https:// URL"),
        ("file:///etc/passwd", "Use an https:// URL"),
        ("https://169.254.169.254/", "metadata"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("https://[fd00:ec2::254]/", "metadata"),
        ("https://100.100.100.200/", "metadata"),
        ("https://metadata.google.internal/", "metadata"),
        ("https://METADATA.google.internal./", "metadata"),
        ("https://2852039166/", "metadata"),  # 169.254.169.254 written as one number
        ("https://[::ffff:169.254.169.254]/", "metadata"),
        ("https://169.254.10.1/", "link-local"),
        ("https://[fe80::1]/", "link-local"),
        ("https://", "no host"),
        # The validator and the HTTP library must read one host: requests would connect to
        # the part before the backslash, urlsplit reads the part after the '@'.
        ("https://169.254.169.254\\@example.com", "backslash"),
        ("http://10.0.0.1\\@127.0.0.1:18001", "backslash"),
        ("https://data-flow.example.com\\", "backslash"),
        ("https://user@data-flow.example.com", "user name or password"),
        ("https://user:pw@data-flow.example.com", "user name or password"),
        ("http://169.254.169.254@127.0.0.1:8001", "user name or password"),
        ("https://data-flow .example.com", "spaces"),
        ("https://data-flow.example.com\t/", "spaces"),
        ("https://dätä-flow.example.com", "non-ASCII"),
    ],
)
def test_refused_scp_urls_say_why(url, words):
    problem = scp_url_problem(url)
    assert problem is not None
    assert words in problem


@pytest.mark.django_db
def test_the_model_refuses_a_metadata_url():
    connection = ScpConnection(name="bad", base_url="http://169.254.169.254/", access_key="a")
    with pytest.raises(ValidationError, match="metadata"):
        connection.full_clean()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("ftp://data-flow.example.com", "Use an https:// URL"),
        ("http://169.254.169.254/", "metadata"),
        ("http://data-flow.example.com", "Use https://"),
    ],
)
def test_the_admin_form_refuses_bad_urls_with_a_message(client, django_user_model, url, words):
    root = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    data = {
        "name": "batch-west",
        "base_url": url,
        "access_key": "AK",
        "secret_key": "secret",
        "api_version": "data-flow 1.0",
        "language": "en-US",
        "enabled": "on",
    }
    response = client.post(reverse("admin:dataflow_scpconnection_add"), data)

    assert response.status_code == 200
    assert words in response.content.decode()
    assert not ScpConnection.objects.exists()


@pytest.mark.django_db
def test_a_row_with_an_ftp_url_gives_a_sentence_not_a_crash_in_the_sync(settings):
    settings.SCP_SECRET_KEY = ""  # only the row below
    row = ScpConnection(name="old-row", base_url="ftp://data-flow.example.com", access_key="AK")
    row.set_secret_key("secret")
    row.save()  # written before the rule existed: save() does not validate

    with pytest.raises(ConnectionUnavailable, match="Use an https:// URL"):
        scp_client_for("old-row")
    run = services_sync()

    assert run.errors == [
        "old-row: The SCP connection 'old-row' cannot be used: Use an https:// URL "
        "(got ftp scheme in 'ftp://data-flow.example.com'); SCP's OpenAPI is served over https."
    ]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url", ["http://169.254.169.254", "http://scp.example.com", "gopher://scp.example.com"]
)
def test_the_default_connection_refuses_a_bad_scp_openapi_url(settings, url):
    settings.SCP_OPENAPI_URL = url
    with pytest.raises(ConnectionUnavailable, match="SCP_OPENAPI_URL cannot be used"):
        scp_client_for("default")


@pytest.mark.django_db
def test_the_default_connection_may_use_the_local_simulator(settings):
    settings.SCP_OPENAPI_URL = "http://127.0.0.1:8001"
    assert scp_client_for("default") is not None


# --- Password reset only with mail ----------------------------------------------------------


@pytest.mark.django_db
def test_without_mail_the_reset_pages_are_not_there(client, settings):
    settings.EMAIL_URL = ""
    assert client.get(reverse("password_reset")).status_code == 404
    assert client.post(reverse("password_reset"), {"email": "a@b.c"}).status_code == 404
    assert client.get(reverse("password_reset_done")).status_code == 404
    assert client.get("/accounts/reset/MQ/set-password/").status_code == 404
    assert 'data-testid="password-reset"' not in client.get(LOGIN).content.decode()


@pytest.mark.django_db
def test_with_mail_the_sign_in_page_offers_a_reset_that_sends_a_mail(client, settings, admin_user):
    settings.EMAIL_URL = "console://"
    admin_user.email = "alice@example.com"
    admin_user.save()

    assert 'data-testid="password-reset"' in client.get(LOGIN).content.decode()
    response = client.post(reverse("password_reset"), {"email": "alice@example.com"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert "alice@example.com" in mail.outbox[0].to


# --- Refresh from SCP: admins only ----------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["lead_user", "support_user"])
def test_leads_and_support_cannot_refresh_from_scp_nor_see_the_button(client, request, who):
    from console.dataflow.models import SyncRun

    client.force_login(request.getfixturevalue(who))

    assert client.post(reverse("dataflow:sync-request")).status_code == 403
    assert not SyncRun.objects.exists()
    page = client.get(reverse("dataflow:service-list")).content.decode()
    assert 'data-testid="refresh"' not in page


@pytest.mark.django_db
def test_admins_and_superusers_see_the_refresh_button(client, admin_user, django_user_model):
    for user in (admin_user, django_user_model.objects.create_superuser("root", "r@x.io", "pw")):
        client.force_login(user)
        page = client.get(reverse("dataflow:service-list")).content.decode()
        assert 'data-testid="refresh"' in page


# --- /healthz -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_200_without_sign_in(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}


@pytest.mark.django_db
def test_healthz_answers_503_naming_the_database(client, monkeypatch):
    def _down():
        raise OperationalError("connection refused")

    monkeypatch.setattr("console.dataflow.health._database_check", _down)
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"database": "unreachable", "broker": "ok"}


# --- Logs -----------------------------------------------------------------------------------


def _record(**extra) -> logging.LogRecord:
    record = logging.LogRecord(
        "console.dataflow.changes.send", logging.INFO, __file__, 1, "sent", (), None
    )
    record.__dict__.update(extra)
    return record


def test_a_json_log_line_carries_the_change_and_scp_request_ids():
    line = JsonLineFormatter().format(
        _record(change_id=42, global_request_id="gr-123", request=object())
    )

    assert "\n" not in line
    data = json.loads(line)
    assert data["message"] == "sent"
    assert data["level"] == "INFO"
    assert data["logger"] == "console.dataflow.changes.send"
    assert data["change_id"] == 42
    assert data["global_request_id"] == "gr-123"
    assert data["time"].endswith("+00:00")
    assert "request" not in data


def test_a_json_log_line_without_ids_has_no_id_fields():
    data = json.loads(JsonLineFormatter().format(_record()))
    assert "change_id" not in data
    assert "global_request_id" not in data


@pytest.mark.django_db
def test_a_403_logs_one_warning_without_traceback(client, lead_user, caplog):
    client.force_login(lead_user)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.post(reverse("dataflow:sync-request"))

    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].status_code == 403
    assert records[0].exc_info is None


# --- SCP connections: the address is checked again as each request leaves -------------------


def _resolving(monkeypatch, name: str, address: str) -> None:
    """Make `name` resolve to `address` (as a rebinding or poisoned DNS answer would)."""
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if str(host).rstrip(".").lower() == name:
            return real(address, *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


@pytest.mark.django_db
@pytest.mark.parametrize("name", ["default", "lab"])
def test_a_connection_whose_host_resolves_to_metadata_sends_nothing(settings, monkeypatch, name):
    settings.SCP_OPENAPI_URL, settings.SCP_ACCESS_KEY = "https://scp.example.com", "AK"
    settings.SCP_SECRET_KEY, settings.SCP_CONNECT_TIMEOUT = "SK", 0.5
    row = ScpConnection(name="lab", base_url="https://scp.example.com", access_key="AK")
    row.set_secret_key("SK")
    row.save()
    _resolving(monkeypatch, "scp.example.com", "169.254.169.254")

    with pytest.raises(ScpAddressRefused, match=r"resolves to 169\.254\.169\.254") as refused:
        scp_client_for(name).get_service("svc-1")

    assert refused.value.permanent
    assert "did not send" in scp_error_text(refused.value)


def test_the_client_asks_its_check_with_the_url_as_prepared_for_the_wire():
    seen: list[str] = []

    def check(url: str) -> str:
        seen.append(url)
        return "no"

    client = ScpClient(
        base_url="https://scp.example.com", access_key="AK", secret_key="SK", address_check=check
    )
    with pytest.raises(ScpAddressRefused, match="no"):
        client.services_page()

    assert seen == [
        "https://scp.example.com/v1/data-flow-services?page=0&size=20&sort=created_dt:desc"
    ]


@pytest.mark.django_db(transaction=True)
def test_a_put_refused_before_sending_fails_the_change_as_not_sent(
    scp, imported, admin_user, enqueued, monkeypatch
):
    from console.dataflow.changes.send import change_send
    from console.dataflow.models import ChangeRequest
    from tests.dataflow.helpers import puts, raise_memory, submit_edit

    checks: list[str] = []

    def refuse_after_the_read(url: str) -> str | None:
        checks.append(url)
        return "scp.example.com resolves to 169.254.169.254" if len(checks) > 1 else None

    monkeypatch.setattr(
        "console.dataflow.connections.clients.scp_send_problem", refuse_after_the_read
    )
    service = imported["sales-etl"]
    change = submit_edit(service, admin_user, raise_memory)

    change_send(change_id=change.pk)

    change.refresh_from_db()
    assert change.status == ChangeRequest.Status.FAILED
    assert not change.put_unconfirmed
    assert puts(scp, service) == []
    assert "The console did not send the request" in change.events.last().message


# --- X-Forwarded-For: believed from the trusted proxies only ---------------------------------


@pytest.fixture
def behind_proxy(settings):
    """BEHIND_TLS_PROXY=1 with the default trusted proxy (this machine)."""
    settings.BEHIND_TLS_PROXY = True
    settings.TRUSTED_PROXY_NETWORKS = env_networks("NO_SUCH_VARIABLE", "127.0.0.1,::1")
    return settings


@pytest.mark.django_db
def test_rotating_forwarded_addresses_from_a_direct_peer_are_still_counted(
    client, admin_user, behind_proxy
):
    for n in range(12):
        response = client.post(
            LOGIN,
            {"username": "alice", "password": "wrong-password"},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        )

    assert response.status_code == 429


@pytest.mark.django_db
def test_a_spoofed_address_cannot_lock_out_the_person_behind_the_proxy(
    client, admin_user, behind_proxy
):
    for _ in range(12):
        client.post(
            LOGIN,
            {"username": "alice", "password": "wrong-password"},
            REMOTE_ADDR="198.51.100.7",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )

    response = client.post(
        LOGIN,
        {"username": "alice", "password": PASSWORD},
        REMOTE_ADDR="127.0.0.1",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    ("remote", "forwarded", "expected"),
    [
        ("127.0.0.1", "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        ("127.0.0.1", "203.0.113.9, 127.0.0.1", "203.0.113.9"),  # two proxies on this machine
        ("::1", "203.0.113.9", "203.0.113.9"),
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        ("127.0.0.1", "", "127.0.0.1"),
        ("127.0.0.1", "not-an-address", "127.0.0.1"),
    ],
)
def test_the_client_address_reads_forwarded_for_only_from_a_trusted_peer(
    behind_proxy, remote, forwarded, expected
):
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_address(request) == expected


def test_forwarded_headers_from_a_direct_peer_never_reach_the_console(behind_proxy):
    seen = {}
    middleware = ForwardedHeadersMiddleware(lambda request: seen.update(request.META))
    headers = {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_X_FORWARDED_PROTO": "https"}

    middleware(RequestFactory().get("/", REMOTE_ADDR="198.51.100.7", **headers))
    assert "HTTP_X_FORWARDED_FOR" not in seen and "HTTP_X_FORWARDED_PROTO" not in seen
    middleware(RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", **headers))
    assert seen["HTTP_X_FORWARDED_PROTO"] == "https"


# --- Sign-in form: bounded input -------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("page", [LOGIN, "/django-admin/login/"])
def test_a_username_longer_than_the_model_allows_is_a_form_error_and_nothing_is_stored(
    client, page
):
    from axes.models import AccessAttempt

    response = client.post(page, {"username": "a" * 300, "password": "whatever"})

    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()
    assert not AccessAttempt.objects.filter(username__startswith="a" * 151).exists()


# --- Password reset and change: limited -----------------------------------------------------


@pytest.fixture
def with_mail(settings, admin_user):
    settings.EMAIL_URL = "console://"
    admin_user.email = "alice@example.com"
    admin_user.save()
    return admin_user


@pytest.mark.django_db
def test_password_reset_requests_from_one_address_are_limited(client, with_mail):
    answers = [
        client.post(reverse("password_reset"), {"email": f"x{n}@example.com"}).status_code
        for n in range(8)
    ]

    assert answers == [302] * 5 + [429] * 3
    page = client.post(reverse("password_reset"), {"email": "alice@example.com"})
    assert 'data-testid="reset-limited"' in page.content.decode()
    assert len(mail.outbox) == 0


@pytest.mark.django_db
def test_password_reset_mails_to_one_address_are_limited_whoever_asks(client, with_mail):
    for n in range(20):
        response = client.post(
            reverse("password_reset"),
            {"email": "Alice@example.com"},
            REMOTE_ADDR=f"198.51.100.{n}",
        )
        assert response.status_code == 302  # the page reads the same, mail or not

    assert len(mail.outbox) == 3


def _change_password(client, old: str):
    return client.post(
        reverse("password_change"),
        {
            "old_password": old,
            "new_password1": "An0ther-l0ng-pass",
            "new_password2": "An0ther-l0ng-pass",
        },
    )


@pytest.mark.django_db
def test_five_wrong_current_passwords_stop_the_password_change_even_for_the_right_one(
    client, admin_user
):
    client.force_login(admin_user)
    for _ in range(5):
        assert _change_password(client, "wrong-password").status_code == 200

    response = _change_password(client, PASSWORD)

    assert response.status_code == 200
    assert "Too many wrong passwords" in response.content.decode()
    admin_user.refresh_from_db()
    assert admin_user.check_password(PASSWORD)


@pytest.mark.django_db
def test_the_password_change_lock_ends_after_the_cool_off(client, admin_user, settings):
    with time_machine.travel("2026-03-01 09:00:00Z", tick=False) as traveller:
        client.force_login(admin_user)
        for _ in range(5):
            _change_password(client, "wrong-password")
        traveller.shift(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        client.force_login(admin_user)

        assert _change_password(client, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_four_wrong_current_passwords_then_the_right_one_changes_it(client, admin_user):
    client.force_login(admin_user)
    for _ in range(4):
        _change_password(client, "wrong-password")

    assert _change_password(client, PASSWORD).status_code == 302


# --- Caching, cookies and sessions ------------------------------------------------------------


@pytest.mark.django_db
def test_pages_and_the_csv_export_for_a_signed_in_person_are_private_and_not_stored(
    client, lead_user, imported
):
    client.force_login(lead_user)
    for url in (
        reverse("dataflow:service-list"),
        reverse("dataflow:history"),
        reverse("dataflow:history") + "?format=csv",
    ):
        cache_control = client.get(url)["Cache-Control"]
        assert "private" in cache_control and "no-store" in cache_control, url


@pytest.mark.django_db
def test_an_idle_session_ends_after_the_idle_minutes(client, admin_user, settings):
    home = reverse("dataflow:service-list")
    with time_machine.travel("2026-03-01 09:00:00Z", tick=False) as traveller:
        assert _sign_in(client, "alice", PASSWORD).status_code == 302
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES - 5))
        assert client.get(home).status_code == 200
        traveller.shift(timedelta(minutes=settings.SESSION_IDLE_MINUTES + 1))

        response = client.get(home)

    assert response.status_code == 302
    assert response["Location"].startswith(LOGIN)
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_busy_session_still_ends_after_the_maximum_hours(client, admin_user, settings):
    home = reverse("dataflow:service-list")
    with time_machine.travel("2026-03-01 09:00:00Z", tick=False) as traveller:
        assert _sign_in(client, "alice", PASSWORD).status_code == 302
        answers = []
        for _ in range(int(settings.SESSION_MAX_HOURS * 2) + 1):
            traveller.shift(timedelta(minutes=30))
            answers.append(client.get(home).status_code)

    assert answers[: int(settings.SESSION_MAX_HOURS * 2)] == [200] * int(
        settings.SESSION_MAX_HOURS * 2
    )
    assert answers[-1] == 302


def test_sessions_and_the_language_cookie_are_bounded_and_secure_by_default(settings):
    assert settings.SESSION_COOKIE_AGE <= 12 * 3600
    assert settings.SESSION_IDLE_MINUTES <= 60
    assert settings.LANGUAGE_COOKIE_SECURE == settings.SESSION_COOKIE_SECURE
    assert settings.LANGUAGE_COOKIE_HTTPONLY


# --- Password reset tokens never reach a log line ---------------------------------------------

TOKEN = "cdz1ab-0123456789abcdef0123456789abcdef"


def test_the_log_handler_redacts_reset_tokens_from_every_record():
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    record = logging.LogRecord(
        "django.request",
        logging.WARNING,
        __file__,
        1,
        "Not Found: %s",
        (f"/accounts/reset/MQ/{TOKEN}/",),
        None,
    )

    assert handler.filter(record)
    assert record.getMessage() == "Not Found: /accounts/reset/MQ/[redacted]/"
    assert any(isinstance(f, ResetTokensRedacted) for f in handler.filters)


def test_the_next_step_of_a_reset_and_other_paths_stay_readable():
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "GET /accounts/reset/MQ/set-password/ /accounts/reset/done/",
        (),
        None,
    )
    ResetTokensRedacted().filter(record)
    assert record.getMessage() == "GET /accounts/reset/MQ/set-password/ /accounts/reset/done/"
