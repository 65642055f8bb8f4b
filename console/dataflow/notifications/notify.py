"""Telling people that a change has ended: mail to its author and watchers, and a webhook.

`notifications_enqueue` is the follow-up of a final change (see `changes/finished.py`): it only
enqueues one `dataflow.notify_email` task per recipient and one `dataflow.notify_webhook` task,
with ids as their only arguments. The tasks call `notification_email_send` and
`notification_webhook_send`, which raise `NotificationTransient` for what a retry may cure
(the tasks retry it with backoff, bounded) and log everything else; neither ever touches the
change itself, so the pipeline never waits for, or fails with, a notification.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.dataflow.connections.crypto import SecretUnreadable
from console.dataflow.connections.endpoints import resolved_address_problem, webhook_url_problem
from console.dataflow.models import (
    DEFAULT_CONNECTION,
    STATUS_MEANINGS,
    ChangeRequest,
    Preference,
    ScpConnection,
    Watch,
)
from console.outbound import AddressRefused, NotAnswered, checked_session

logger = logging.getLogger(__name__)

EMAIL_TASK = "dataflow.notify_email"
WEBHOOK_TASK = "dataflow.notify_webhook"
# Withdrawn before it reached SCP: whoever withdrew it knows, and nothing happened to the service.
NOT_NOTIFIED = {ChangeRequest.Status.CANCELLED}
SUMMARY_FIELDS = 3  # field names in the one-line summary before "and N more"


class NotificationTransient(Exception):
    """Sending failed in a way a later attempt may not (server down, timeout, 4xx/5xx busy)."""


@dataclass(frozen=True)
class Message:
    """What a notification says, already in the reader's language."""

    subject: str
    summary: str
    status: str
    meaning: str
    link: str
    error: dict[str, str] | None


def notifications_enqueue(*, change_id: int) -> int:
    """Enqueue the mail and webhook tasks for a change that has just ended; returns how many."""
    from celery import current_app

    change = ChangeRequest.objects.select_related("service").filter(pk=change_id).first()
    if change is None or not change.is_final or change.status in NOT_NOTIFIED:
        return 0
    sent = 0
    for user_id in recipients_of(change):
        current_app.send_task(EMAIL_TASK, args=[change_id, user_id])
        sent += 1
    if webhook_url_for(change.service.connection_name):
        current_app.send_task(WEBHOOK_TASK, args=[change_id])
        sent += 1
    return sent


def recipients_of(change: ChangeRequest) -> list[int]:
    """Ids of the active people with an address who hear of this change: author, then watchers."""
    ids = [change.author_id] if change.author_id else []
    ids += Watch.objects.filter(service_id=change.service_id).values_list("user_id", flat=True)
    reachable = set(
        get_user_model()
        .objects.filter(pk__in=ids, is_active=True)
        .exclude(email="")
        .values_list("pk", flat=True)
    )
    return [pk for pk in dict.fromkeys(ids) if pk in reachable]


def language_for(user, change: ChangeRequest) -> str:
    """The reader's language: their saved choice; for the author, the one they worked in."""
    saved = Preference.objects.filter(user=user).values_list("language", flat=True).first()
    if saved:
        return saved
    if user.pk == change.author_id and change.language.lower().startswith("ko"):
        return "ko"
    return settings.LANGUAGE_CODE


def change_link(change: ChangeRequest) -> str:
    """The change page's absolute address, or "" while CONSOLE_PUBLIC_URL is not set."""
    if not settings.CONSOLE_PUBLIC_URL:
        return ""
    return settings.CONSOLE_PUBLIC_URL.rstrip("/") + change.get_absolute_url()


def message_for(change: ChangeRequest) -> Message:
    """The notification's parts in the active language."""
    entries = change.diff or []
    labels = [str(entry.get("label", "")) for entry in entries[:SUMMARY_FIELDS]]
    fields = ", ".join(labels)
    if len(entries) > SUMMARY_FIELDS:
        fields = _("%(fields)s and %(count)d more") % {
            "fields": fields,
            "count": len(entries) - SUMMARY_FIELDS,
        }
    status = str(change.get_status_display())
    summary = ngettext(
        "%(kind)s of %(service)s, %(count)d field: %(fields)s",
        "%(kind)s of %(service)s, %(count)d fields: %(fields)s",
        len(entries),
    ) % {
        "kind": change.get_kind_display(),
        "service": change.service.name,
        "count": len(entries),
        "fields": fields or "—",
    }
    error = None
    if change.error and change.status != ChangeRequest.Status.SUCCEEDED:
        error = {
            key: str(change.error.get(key) or "") for key in ("code", "detail", "global_request_id")
        }
        error["message"] = change.error_text  # in the recipient's language
    return Message(
        subject=_("[Data Flow Console] %(service)s: change #%(id)d %(status)s")
        % {"service": change.service.name, "id": change.pk, "status": status},
        summary=summary,
        status=status,
        meaning=str(STATUS_MEANINGS.get(change.status, "")),
        link=change_link(change),
        error=error,
    )


def notification_email_send(*, change_id: int, user_id: int) -> bool:
    """Mail one person that a change ended, in their language; False when there is nothing to send.

    Raises `NotificationTransient` for a mail server that is down or busy (4xx); a refusal
    that will not change (5xx, bad address) is logged and not retried.
    """
    change = ChangeRequest.objects.select_related("service").filter(pk=change_id).first()
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if change is None or user is None or not user.email:
        return False
    with translation.override(language_for(user, change)):
        message = message_for(change)
        body = render_to_string(
            "dataflow/email/change_finished.txt",
            {"change": change, "message": message, "user": user},
        )
    # A line break in a service name would be a header injection: Django refuses it, so fold.
    subject = " ".join(message.subject.split())
    email = EmailMessage(subject=subject, body=body, to=[user.email])
    try:
        email.send(fail_silently=False)
    except smtplib.SMTPResponseException as exc:
        if 400 <= exc.smtp_code < 500:
            raise NotificationTransient(f"mail server busy ({exc.smtp_code})") from exc
        logger.error(
            "mail about change %s to user %s refused (%s); not retried",
            change_id,
            user_id,
            exc.smtp_code,
            extra={"change_id": change_id},
        )
        return False
    except smtplib.SMTPServerDisconnected as exc:
        raise NotificationTransient("mail server closed the connection") from exc
    except smtplib.SMTPException as exc:  # recipients refused, no STARTTLS, bad login
        logger.error(
            "mail about change %s to user %s refused (%s); not retried",
            change_id,
            user_id,
            type(exc).__name__,
            extra={"change_id": change_id},
        )
        return False
    except OSError as exc:  # refused, unreachable, timed out
        raise NotificationTransient(f"mail server unreachable ({type(exc).__name__})") from exc
    logger.info(
        "mailed user %s about change %s", user_id, change_id, extra={"change_id": change_id}
    )
    return True


def webhook_url_for(connection_name: str) -> str:
    """The webhook of a connection (`SCP_WEBHOOK_URL` for `default`), or ""."""
    if connection_name == DEFAULT_CONNECTION:
        return settings.SCP_WEBHOOK_URL
    row = ScpConnection.objects.filter(name=connection_name).first()
    if row is None:
        return ""
    try:
        return row.get_webhook_url()
    except SecretUnreadable:
        logger.error("webhook of connection %s cannot be decrypted; not posted", connection_name)
        return ""


def _webhook_language(connection_name: str) -> str:
    """A channel has no one reader: the connection's language, else the console's default."""
    language = (
        ScpConnection.objects.filter(name=connection_name)
        .values_list("language", flat=True)
        .first()
    )
    if language and language.lower().startswith("ko"):
        return "ko"
    return settings.LANGUAGE_CODE


def _mrkdwn(text: str) -> str:
    """Text made safe for Slack's mrkdwn (it reads <, > and & as markup)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def webhook_payload(change: ChangeRequest) -> dict[str, Any]:
    """A Slack-compatible message (`text` for notifications, `blocks` for the channel)."""
    message = message_for(change)
    headline = f"*{_mrkdwn(message.status)}* · {_mrkdwn(message.summary)}"
    if message.link:
        label = _("Change #%(id)d") % {"id": change.pk}
        headline += f"\n<{message.link}|{_mrkdwn(label)}>"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": headline}},
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": _mrkdwn(message.meaning or message.status)}],
        },
    ]
    if message.error:
        lines = [_mrkdwn(message.error["message"] or message.error["detail"])]
        if message.error["code"]:
            lines.append(_("SCP code: %(code)s") % {"code": _mrkdwn(message.error["code"])})
        if message.error["global_request_id"]:
            lines.append(f"global_request_id: `{_mrkdwn(message.error['global_request_id'])}`")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}})
    # The notification text is mrkdwn too: a service named "<!channel>" must not ping anyone.
    text = f"{_mrkdwn(message.subject)}: {_mrkdwn(message.summary)}"
    if message.link:
        text += f" {message.link}"
    return {"text": text, "blocks": blocks}


def _webhook_check(url: str) -> str | None:
    """The webhook's URL as it leaves: allowed by the rules, and not resolving anywhere inner."""
    return webhook_url_problem(url) or resolved_address_problem(url)


def notification_webhook_send(*, change_id: int) -> bool:
    """Post the change's message to its connection's webhook; False when nothing was sent.

    Raises `NotificationTransient` for a timeout, a refused connection, 429 or a 5xx. The URL
    is never logged (a Slack webhook URL is its own secret): only its host.
    """
    change = ChangeRequest.objects.select_related("service").filter(pk=change_id).first()
    if change is None:
        return False
    name = change.service.connection_name
    url = webhook_url_for(name)
    if not url:
        return False
    host = urlsplit(url).hostname or "?"
    with translation.override(_webhook_language(name)):
        payload = webhook_payload(change)
    # The SCP client's discipline: the URL is checked as the request leaves (its resolved
    # address included), and a redirect is never followed to an address nobody checked.
    with checked_session(_webhook_check, label="webhook") as session:
        try:
            response = session.post(
                url,
                json=payload,
                headers={"User-Agent": "data-flow-console"},
                timeout=settings.CONSOLE_WEBHOOK_TIMEOUT,
                allow_redirects=False,
            )
        except AddressRefused as exc:
            logger.error(
                "webhook of connection %s refused: %s", name, exc, extra={"change_id": change_id}
            )
            return False
        except NotAnswered as exc:  # refused, unreachable, timed out, TLS
            raise NotificationTransient(
                f"webhook at {host} unreachable ({type(exc).__name__})"
            ) from None
    status = response.status_code
    if status == 429 or status >= 500:
        raise NotificationTransient(f"webhook at {host} answered {status}")
    if not 200 <= status < 300:
        logger.error(
            "webhook at %s refused the message about change %s (%s); not retried",
            host,
            change_id,
            status,
            extra={"change_id": change_id},
        )
        return False
    logger.info("webhook at %s told of change %s", host, change_id, extra={"change_id": change_id})
    return True
