"""Log formatting: one JSON object per line (LOG_FORMAT=json) and quiet expected 403s/404s."""

from __future__ import annotations

import logging
import re
from typing import Any

from pythonjsonlogger.json import JsonFormatter

# Extras that are objects, not facts: a request's repr may carry a reset token in its path.
_DROPPED_EXTRAS = {"request", "server_time"}
# /accounts/reset/<uidb64>/<token>/: whoever reads the token can set the account's password.
# Django's own next step, /reset/<uidb64>/set-password/, holds no secret and stays readable.
_RESET_TOKEN = re.compile(r"(/reset/[^/\s?#\"]+/)(?!set-password(?:[/?#\s\"]|$))[^/\s?#\"]+")
REDACTED = "[redacted]"


def redact_reset_tokens(text: str) -> str:
    """`text` with the token of every password reset link replaced by `[redacted]`."""
    return _RESET_TOKEN.sub(rf"\g<1>{REDACTED}", text)


class JsonLineFormatter(JsonFormatter):
    """`{"time", "level", "logger", "message", ...extras}`: `change_id`, `global_request_id`
    and any other `extra={...}` of the record become fields; a traceback becomes `exc_info`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("timestamp", "time")  # ISO 8601, UTC
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        super().__init__(["levelname", "name", "message"], *args[1:], **kwargs)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """The library's fields, less the extras that are objects rather than values."""
        super().add_fields(log_data, record, message_dict)
        for key in _DROPPED_EXTRAS:
            log_data.pop(key, None)


class ExpectedErrorsWithoutTraceback(logging.Filter):
    """A 403 or 404 is an answer, not a fault: keep Django's one line, drop its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) in (403, 404) and record.name.startswith("django."):
            record.exc_info = None
            record.exc_text = None
        return True


class ResetTokensRedacted(logging.Filter):
    """Keep password reset tokens out of every line: Django logs the path of a 404 or a 403."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; rewrite its message when it holds a reset token."""
        message = record.getMessage()
        redacted = redact_reset_tokens(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def logging_config(log_format: str, level: str) -> dict:
    """The LOGGING setting: one handler on stderr, plain lines or one JSON object per line."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "console.logjson.JsonLineFormatter"},
        },
        "filters": {
            "expected_errors": {"()": "console.logjson.ExpectedErrorsWithoutTraceback"},
            "reset_tokens": {"()": "console.logjson.ResetTokensRedacted"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": log_format,
                "filters": ["reset_tokens"],  # every line, whichever logger wrote it
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's own console handler would print every record a second time (with DEBUG):
            # its records go to the root handler only.
            "django": {"handlers": [], "propagate": True},
            "django.request": {"filters": ["expected_errors"]},
            "django.db.backends": {"level": "WARNING"},
            "axes": {"level": "WARNING"},  # lockouts, not every successful sign-in
        },
    }
