"""Notifications without a worker: who hears, what the mail and webhook say, what is refused."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from console.config import ConfigError, env_public_url, env_webhook_url
from console.dataflow.admin import ScpConnectionForm
from console.dataflow.connections.crypto import encrypt
from console.dataflow.connections.endpoints import validate_webhook_url, webhook_url_problem
from console.dataflow.models import ChangeRequest, Preference, ScpConnection, Service, Watch
from console.dataflow.notifications.notify import (
    NotificationTransient,
    notification_email_send,
    notification_webhook_send,
    notifications_enqueue,
    recipients_of,
    webhook_payload,
    webhook_url_for,
)
from tests.notify_servers import catalogue_compile, free_port, webhook_server
from tests.test_config import _manage

Status = ChangeRequest.Status
PUBLIC = "https://console.example.com"
SCP_ERROR = {
    "kind": "ScpInvalidInput",
    "status": 400,
    "code": "ValidationError",
    "detail": "nifi.memory must not exceed the cluster's capacity",
    "details": [],
    "global_request_id": "gri-7f3a-0001",
    "message": "SCP refused the values: nifi.memory must not exceed the cluster's capacity",
}


@pytest.fixture
def service(db) -> Service:
    return Service.objects.create(name="sales-etl", scp_id="svc-0001", state="RUNNING")


def _change(service, author, status=Status.SUCCEEDED, **fields) -> ChangeRequest:
    return ChangeRequest.objects.create(
        service=service,
        author=author,
        author_name=author.username if author else "someone",
        reason="more memory for the nightly load",
        base_revision=1,
        base_config={},
        desired_config={},
        status=status,
        diff=[
            {"section": "Workloads", "label": "NiFi memory"},
            {"section": "Workloads", "label": "NiFi replicas"},
            {"section": "Network", "label": "Domain"},
            {"section": "Network", "label": "Node selector"},
        ],
        **fields,
    )


def test_author_and_watchers_hear_once_each_and_only_with_an_address(
    service, admin_user, lead_user, support_user, outsider
):
    admin_user.email, lead_user.email, outsider.email = "a@example.com", "l@example.com", ""
    for user in (admin_user, lead_user, outsider):
        user.save()
    support_user.email, support_user.is_active = "s@example.com", False
    support_user.save()
    for user in (admin_user, lead_user, support_user, outsider):
        Watch.objects.create(user=user, service=service)

    assert recipients_of(_change(service, admin_user)) == [admin_user.pk, lead_user.pk]


def test_only_ids_travel_and_a_cancelled_change_is_not_announced(
    service, admin_user, settings, monkeypatch
):
    admin_user.email = "a@example.com"
    admin_user.save()
    settings.SCP_WEBHOOK_URL = "https://hooks.example.com/T000/B000/secret"
    sent: list[tuple[str, list]] = []
    monkeypatch.setattr(
        "celery.current_app.send_task", lambda name, args: sent.append((name, args))
    )

    done = _change(service, admin_user)
    assert notifications_enqueue(change_id=done.pk) == 2
    assert sent == [
        ("dataflow.notify_email", [done.pk, admin_user.pk]),
        ("dataflow.notify_webhook", [done.pk]),
    ]
    sent.clear()
    withdrawn = _change(service, admin_user, Status.CANCELLED)
    assert notifications_enqueue(change_id=withdrawn.pk) == 0
    assert sent == []


def test_a_failed_change_mail_carries_scps_code_detail_and_request_id(
    service, admin_user, settings
):
    settings.CONSOLE_PUBLIC_URL = PUBLIC
    admin_user.email = "a@example.com"
    admin_user.save()
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)

    assert notification_email_send(change_id=change.pk, user_id=admin_user.pk)

    [message] = mail.outbox
    assert message.to == ["a@example.com"]
    assert message.subject == f"[Data Flow Console] sales-etl: change #{change.pk} Failed"
    assert (
        "Configuration of sales-etl, 4 fields: NiFi memory, NiFi replicas, Domain and 1 more"
        in (message.body)
    )
    assert "SCP code: ValidationError" in message.body
    assert "Detail: nifi.memory must not exceed the cluster's capacity" in message.body
    assert "global_request_id: gri-7f3a-0001" in message.body
    assert f"Open the change: {PUBLIC}/changes/{change.pk}/" in message.body


def test_a_korean_reader_gets_korean_and_without_a_public_address_no_link(
    service, admin_user, settings
):
    catalogue_compile()
    settings.CONSOLE_PUBLIC_URL = ""
    admin_user.email = "a@example.com"
    admin_user.save()
    Preference.objects.create(user=admin_user, language="ko")
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)

    notification_email_send(change_id=change.pk, user_id=admin_user.pk)

    [message] = mail.outbox
    assert message.subject == f"[Data Flow 콘솔] sales-etl: 변경 #{change.pk} 실패"
    assert "SCP 코드: ValidationError" in message.body
    assert "http" not in message.body


def test_an_unreachable_mail_server_is_a_transient_failure(service, admin_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    admin_user.email = "a@example.com"
    admin_user.save()
    change = _change(service, admin_user)

    with pytest.raises(NotificationTransient):
        notification_email_send(change_id=change.pk, user_id=admin_user.pk)


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "ftp://hooks.example.com/hook",
        "http://169.254.169.254/latest/meta-data/",
        "https://169.254.169.254/hook",
        "https://metadata.google.internal/computeMetadata/v1/",
        "http://hooks.example.com/plain-http",
        "https://user:pass@hooks.example.com/hook",
        "file:///etc/passwd",
    ],
)
def test_a_webhook_url_that_is_not_https_or_reaches_metadata_is_refused(url, monkeypatch):
    assert webhook_url_problem(url)
    with pytest.raises(ValidationError):
        validate_webhook_url(url)
    monkeypatch.setenv("SCP_WEBHOOK_URL", url)
    with pytest.raises(ConfigError, match="SCP_WEBHOOK_URL"):
        env_webhook_url("SCP_WEBHOOK_URL")


@pytest.mark.parametrize(
    "url", ["https://hooks.slack.com/services/T0/B0/x", "http://127.0.0.1:9000/hook"]
)
def test_https_and_loopback_webhooks_are_accepted(url):
    assert webhook_url_problem(url) is None


def test_the_connection_form_refuses_a_metadata_webhook(db):
    form = ScpConnectionForm(
        data={
            "name": "lab",
            "base_url": "https://data-flow.kr-west1.e.samsungsdscloud.com",
            "access_key": "AK",
            "secret_key": "SK",
            "api_version": "data-flow 1.1",
            "language": "en-US",
            "enabled": "on",
            "webhook_url": "http://169.254.169.254/hook",
        }
    )
    assert not form.is_valid()
    assert "metadata" in str(form.errors["webhook_url"])


def test_a_stored_webhook_to_metadata_is_never_called(db, admin_user, caplog):
    # A row written before the rule (or by hand): the send checks again and refuses.
    ScpConnection.objects.create(name="lab", base_url="https://scp.example.com", access_key="AK")
    ScpConnection.objects.filter(name="lab").update(
        webhook_url_encrypted=encrypt("http://169.254.169.254/x")
    )
    service = Service.objects.create(name="lab-etl", scp_id="svc-9", connection_name="lab")
    change = _change(service, admin_user)

    assert notification_webhook_send(change_id=change.pk) is False
    assert "cloud metadata address" in caplog.text
    assert "169.254.169.254/x" not in caplog.text  # the URL itself is never logged


def test_a_webhook_that_answers_500_is_transient_and_400_is_not_retried(
    service, admin_user, settings
):
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)
    with webhook_server(statuses=[500, 400]) as hook:
        settings.SCP_WEBHOOK_URL = hook.url
        with pytest.raises(NotificationTransient, match="answered 500"):
            notification_webhook_send(change_id=change.pk)
        assert notification_webhook_send(change_id=change.pk) is False
        assert notification_webhook_send(change_id=change.pk) is True
    assert len(hook.received) == 3


def test_the_webhook_message_is_slack_shaped_and_escapes_markup(service, admin_user, settings):
    settings.CONSOLE_PUBLIC_URL = PUBLIC
    service.name = "etl <b>&</b>"
    service.save()
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)

    payload = webhook_payload(change)

    assert set(payload) == {"text", "blocks"}
    assert all(block["type"] in {"section", "context"} for block in payload["blocks"])
    headline = payload["blocks"][0]["text"]["text"]
    assert "etl &lt;b&gt;&amp;&lt;/b&gt;" in headline
    assert f"<{PUBLIC}/changes/{change.pk}/|Change #{change.pk}>" in headline
    error_block = payload["blocks"][2]["text"]["text"]
    assert "SCP code: ValidationError" in error_block and "gri-7f3a-0001" in error_block


def test_the_webhook_text_escapes_mentions_and_links_as_the_blocks_do(
    service, admin_user, settings
):
    settings.CONSOLE_PUBLIC_URL = PUBLIC
    service.name = "<!channel> <https://evil.example.com|click> & co"
    service.save()
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)

    text = webhook_payload(change)["text"]

    assert "<!channel>" not in text and "<https://evil.example.com|" not in text
    assert "&lt;!channel&gt; &lt;https://evil.example.com|click&gt; &amp; co" in text
    assert text.endswith(f" {PUBLIC}/changes/{change.pk}/")


@pytest.mark.parametrize(
    "url",
    [
        "https://169.254.169.254\\@hooks.example.com/hook",
        "https://hooks.example.com\\@169.254.169.254/hook",
        "https://hooks.example.com/\\hook",
        "https://hooks.example.com /hook",
    ],
)
def test_a_webhook_url_the_libraries_could_read_differently_is_refused(url):
    assert webhook_url_problem(url)


def test_a_webhook_url_is_stored_encrypted_and_posted_in_clear(db, admin_user):
    hook = "https://hooks.slack.com/services/T000/B000/TOKEN-0123"
    row = ScpConnection(name="lab", base_url="https://scp.example.com", access_key="AK")
    row.set_webhook_url(hook)
    row.save()

    stored = ScpConnection.objects.filter(name="lab").values()[0]
    assert hook not in str(stored) and "TOKEN-0123" not in str(stored)
    assert webhook_url_for("lab") == hook
    assert row.webhook_url_masked() == "https://hooks.slack.com/•••"


@pytest.mark.parametrize(
    "value",
    [
        "console.example.com",
        "ftp://console.example.com",
        "https://",
        "https://x/?a=1",
        "https://u:p@console.example.com",
        "https://console.example.com:port",
    ],
)
def test_a_malformed_public_address_is_a_configuration_error(value, monkeypatch):
    monkeypatch.setenv("CONSOLE_PUBLIC_URL", value)
    with pytest.raises(ConfigError, match="CONSOLE_PUBLIC_URL"):
        env_public_url("CONSOLE_PUBLIC_URL", "")


def test_the_public_address_loses_its_trailing_slash(monkeypatch):
    monkeypatch.setenv("CONSOLE_PUBLIC_URL", "https://console.example.com/dataflow/")
    assert env_public_url("CONSOLE_PUBLIC_URL", "") == "https://console.example.com/dataflow"


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"CONSOLE_PUBLIC_URL": "console.example.com"}, "CONSOLE_PUBLIC_URL"),
        ({"SCP_WEBHOOK_URL": "javascript:alert(1)"}, "SCP_WEBHOOK_URL"),
    ],
)
def test_a_bad_notification_setting_stops_start_up_with_one_line(overrides, variable):
    result = _manage(overrides)
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Configuration error: ") and variable in line


def test_a_line_break_in_a_service_name_never_reaches_the_mail_headers(service, admin_user):
    service.name = "sales\nBcc: everyone@example.com"
    service.save()
    admin_user.email = "a@example.com"
    admin_user.save()
    change = _change(service, admin_user)

    assert notification_email_send(change_id=change.pk, user_id=admin_user.pk)
    [message] = mail.outbox
    assert "\n" not in message.subject and message.bcc == []


def test_a_webhook_redirect_is_never_followed(service, admin_user, settings, caplog):
    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)
    with webhook_server(statuses=[302]) as hook:
        settings.SCP_WEBHOOK_URL = hook.url
        assert notification_webhook_send(change_id=change.pk) is False
    assert len(hook.received) == 1
    assert "(302); not retried" in caplog.text


def test_a_webhook_host_resolving_to_a_link_local_address_as_it_leaves_gets_nothing(
    service, admin_user, settings, monkeypatch, caplog
):
    import socket

    change = _change(service, admin_user, Status.FAILED, error=SCP_ERROR)
    with webhook_server(statuses=[]) as hook:
        settings.SCP_WEBHOOK_URL = hook.url.replace("127.0.0.1", "localhost")
        real = socket.getaddrinfo

        def rebound(host, *args, **kwargs):
            if host == "localhost":  # the name now points somewhere the console never goes
                return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.10.10", 0))]
            return real(host, *args, **kwargs)

        monkeypatch.setattr(socket, "getaddrinfo", rebound)
        assert notification_webhook_send(change_id=change.pk) is False
    assert hook.received == []
    assert "169.254.10.10" in caplog.text and "refused" in caplog.text
