"""Doors kept shut: sign-in throttling, safe links, SCP URLs, mail-gated reset, admin-only refresh,
/healthz, and logs that say one line per expected 403/404."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import OperationalError
from django.template import Context, Template
from django.urls import reverse

from console.dataflow.connections import ConnectionUnavailable, scp_client_for
from console.dataflow.endpoints import scp_url_problem
from console.dataflow.models import ScpConnection, Service
from console.dataflow.sync import services_sync
from console.logjson import JsonLineFormatter
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
        "console.dataflow.changes", logging.INFO, __file__, 1, "sent", (), None
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
    assert data["logger"] == "console.dataflow.changes"
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
