"""Notifications through a real worker: a change ends, mail and webhook go out, retried."""

from __future__ import annotations

import time

import pytest
from celery.signals import task_retry

from console.dataflow.models import ChangeRequest, Preference, Watch
from console.dataflow.notifications.notify import EMAIL_TASK, WEBHOOK_TASK
from tests.dataflow.helpers import raise_memory, submit_edit, wait_until_final
from tests.notify_servers import catalogue_compile, free_port, smtp_server, webhook_server

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
Status = ChangeRequest.Status
PUBLIC = "https://console.example.com"


@pytest.fixture
def mail_to(settings):
    """Point the console's mail at an SMTP server on loopback (`mail_to(port)`)."""
    catalogue_compile()
    settings.CONSOLE_PUBLIC_URL = PUBLIC

    def point(port: int) -> None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        settings.EMAIL_TIMEOUT = 5

    return point


@pytest.fixture
def retries():
    """Retries of notification tasks seen by the worker, by task name."""
    seen: dict[str, int] = {EMAIL_TASK: 0, WEBHOOK_TASK: 0}

    def count(sender=None, **_):
        if sender is not None and sender.name in seen:
            seen[sender.name] += 1

    task_retry.connect(count, weak=False)
    yield seen
    task_retry.disconnect(count)


def _subject(message) -> str:
    """The decoded subject, unfolded (a long encoded subject is folded onto a second line)."""
    return " ".join(str(message["Subject"]).split())


def _wait(predicate, timeout: float = 30.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"{what} not reached after {timeout} s")


def test_the_author_gets_a_korean_mail_with_a_link_and_a_watcher_an_english_one(
    celery_worker, scp, imported, admin_user, lead_user, mail_to
):
    service = imported["sales-etl"]
    admin_user.email = "alice@example.com"
    admin_user.save()
    Preference.objects.create(user=admin_user, language="ko")
    lead_user.email = "leo@example.com"
    lead_user.save()
    Watch.objects.create(user=lead_user, service=service)

    with smtp_server() as smtp:
        mail_to(smtp.port)
        change = wait_until_final(submit_edit(service, admin_user, raise_memory))
        assert change.status == Status.SUCCEEDED
        messages = {m["To"]: m for m in smtp.wait_for(2)}

    korean = messages["alice@example.com"]
    body = korean.get_content()
    assert _subject(korean) == f"[Data Flow 콘솔] sales-etl: 변경 #{change.pk} 성공"
    assert f"변경 #{change.pk}이(가) 끝났습니다: 성공." in body
    assert "서비스가 요청한 구성 그대로 다시 실행 중입니다." in body
    assert f"변경 보기: {PUBLIC}/changes/{change.pk}/" in body
    assert "sales-etl 서비스의 구성 변경, 1개 항목: NiFi memory" in body

    english = messages["leo@example.com"]
    assert _subject(english) == f"[Data Flow Console] sales-etl: change #{change.pk} Succeeded"
    assert f"Open the change: {PUBLIC}/changes/{change.pk}/" in english.get_content()


def test_a_change_that_fails_in_scp_is_mailed_as_failed_with_scps_reason(
    celery_worker, scp, imported, admin_user, mail_to
):
    service = imported["sales-etl"]
    admin_user.email = "alice@example.com"
    admin_user.save()
    scp.fault(service.scp_id, update_outcome="error")

    with smtp_server() as smtp:
        mail_to(smtp.port)
        change = wait_until_final(submit_edit(service, admin_user, raise_memory))
        [message] = smtp.wait_for(1)

    assert change.status == Status.FAILED
    assert _subject(message) == f"[Data Flow Console] sales-etl: change #{change.pk} Failed"
    assert change.error and change.error["message"] in message.get_content()


def test_with_the_mail_server_down_the_change_still_succeeds_and_the_mail_is_retried(
    celery_worker, scp, imported, admin_user, mail_to, retries
):
    service = imported["sales-etl"]
    admin_user.email = "alice@example.com"
    admin_user.save()
    port = free_port()  # nothing listens here yet: every attempt is refused
    mail_to(port)

    change = wait_until_final(submit_edit(service, admin_user, raise_memory))
    assert change.status == Status.SUCCEEDED
    _wait(lambda: retries[EMAIL_TASK] >= 2, what="two retries of the mail task")

    # The server comes back: a later attempt delivers the mail, once.
    with smtp_server(port) as smtp:
        [message] = smtp.wait_for(1, timeout=40)
        time.sleep(1)
        assert len(smtp.messages) == 1
    assert message["To"] == "alice@example.com"
    assert retries[EMAIL_TASK] >= 2
    change.refresh_from_db()
    assert change.status == Status.SUCCEEDED


def test_the_webhook_gets_a_slack_message_and_a_500_is_retried(
    celery_worker, scp, imported, admin_user, settings, retries
):
    service = imported["sales-etl"]
    settings.CONSOLE_PUBLIC_URL = PUBLIC
    with webhook_server(statuses=[500]) as hook:
        settings.SCP_WEBHOOK_URL = hook.url
        change = wait_until_final(submit_edit(service, admin_user, raise_memory))
        first, second = hook.wait_for(2)

    assert change.status == Status.SUCCEEDED
    assert retries[WEBHOOK_TASK] == 1
    assert first["json"] == second["json"]
    message = second["json"]
    assert second["content_type"] == "application/json"
    assert f"change #{change.pk} Succeeded" in message["text"]
    assert f"{PUBLIC}/changes/{change.pk}/" in message["text"]
    section = message["blocks"][0]
    assert section["type"] == "section" and section["text"]["type"] == "mrkdwn"
    assert f"<{PUBLIC}/changes/{change.pk}/|Change #{change.pk}>" in section["text"]["text"]
    # Nothing secret travels: no keys, no passwords.
    assert settings.SCP_SECRET_KEY not in str(message)
