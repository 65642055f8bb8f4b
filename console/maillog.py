"""Mail without EMAIL_URL under LOG_FORMAT=json: each message one log record, so that every
line a process writes stays one JSON object (Django's console backend prints raw mail)."""

from __future__ import annotations

import logging

from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger("console.mail")


class EmailBackend(BaseEmailBackend):
    """Logs each message (recipients, subject, body) instead of sending it."""

    def send_messages(self, email_messages) -> int:
        """Log every message; all count as delivered, as with the console backend."""
        for message in email_messages:
            logger.info(
                "mail not sent (no EMAIL_URL) to %s: %s",
                ", ".join(message.recipients()),
                message.subject,
                extra={"mail_body": message.body},
            )
        return len(email_messages)
