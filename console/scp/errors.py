"""Typed SCP errors, and the one place that turns an HTTP error answer into one of them."""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, NamedTuple

from console.scp.redact import redact_text

RAW_TEXT_LIMIT = 4000

_NOT_ENABLED_MARKERS = ("rejected by gateway", "catalog has not target")
_RETRY_AFTER_CAP = 3600.0


class ScpError(Exception):
    """A failed SCP call; `permanent` says that repeating the same request cannot help."""

    permanent: ClassVar[bool] = True
    default_message: ClassVar[str] = "SCP refused the request."

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str = "",
        details: tuple[str, ...] | list[str] = (),
        global_request_id: str = "",
        raw_text: str = "",
        cause: str = "",
        retry_after: float | None = None,
    ) -> None:
        """Keep what a person needs (message, code, detail, request id) and the redacted text.

        `cause` names, for a program, why no usable answer came back when there is no status
        to tell it: "tls", "timeout", "unreachable", "no_answer" (a PUT that may have arrived),
        "unreadable" (a 2xx whose body could not be read).
        """
        self.message = message or self.default_message
        self.cause = cause
        # Seconds SCP asked the client to wait (a Retry-After header), whatever the status.
        self.retry_after = retry_after
        self.status = status
        self.code = code
        self.details = tuple(redact_text(str(item)) for item in details)
        self.detail = "; ".join(self.details)
        self.global_request_id = global_request_id
        self.raw_text = redact_text(raw_text)[:RAW_TEXT_LIMIT]
        # Only the message goes into args: pickling and Celery's JSON results rebuild from it.
        super().__init__(self.message)

    def __str__(self) -> str:
        """The message, followed by SCP's code and global request id when there are any."""
        refs = []
        if self.code:
            refs.append(f"code {self.code}")
        if self.global_request_id:
            refs.append(f"global_request_id {self.global_request_id}")
        return f"{self.message} ({', '.join(refs)})" if refs else self.message

    def __repr__(self) -> str:
        """Class, status, code and request id: enough to recognise it, never the raw text."""
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"global_request_id={self.global_request_id!r})"
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able record of the error for storing next to the change it failed."""
        return {
            "kind": type(self).__name__,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
            "details": list(self.details),
            "global_request_id": self.global_request_id,
            "message": self.message,
            "cause": self.cause,
            "retry_after": self.retry_after,
        }


class ScpInvalidInput(ScpError):
    """SCP rejected the values sent (400 ValidationError and other 4xx): fix them first."""

    default_message = "SCP rejected the values sent: correct them and try again."


class ScpBadCredentials(ScpError):
    """SCP refused the signature or the keys (401)."""

    default_message = (
        "SCP refused the request signature: check the access key and secret key of this "
        "connection, and that this server's clock is right."
    )


class ScpNotEnabled(ScpError):
    """The keys are valid but Data Flow is not enabled for this account or region (401)."""

    default_message = (
        "SCP says Data Flow is not enabled for this account or region: enable it in the SCP "
        "console, or check the region of this connection's base URL."
    )


class ScpForbidden(ScpError):
    """The keys lack the permission for this call (403)."""

    default_message = (
        "SCP denied access: the access key has no permission for this Data Flow service; "
        "ask the SCP account administrator to grant it."
    )


class ScpNotFound(ScpError):
    """No such address on the gateway or in the service (404), or a redirect elsewhere."""

    default_message = "SCP has no Data Flow service with this id: it may have been deleted."


class ScpVersionNotSupported(ScpError):
    """SCP does not serve the API version asked for (406 NoSuchVersion)."""

    default_message = (
        "SCP does not support the API version this connection asks for: change the "
        "connection's API version to one SCP lists (python manage.py check_scp names the "
        "CURRENT one)."
    )


class ScpUnavailable(ScpError):
    """SCP is busy or out of reach (429, 5xx, timeout, connection error): try again later."""

    permanent = False
    default_message = "SCP is unavailable right now: try again in a few minutes."


class ScpThrottled(ScpUnavailable):
    """SCP (or its edge firewall) refused the request for now: too many requests (417, 429).

    A throttled request never reached the service, so it was not applied. `retry_after` is
    the wait SCP asked for, in seconds (None when it named none); `local` marks a refusal by
    the console's own request budget, before anything was sent.
    """

    default_message = "SCP is throttling requests: the console waits and tries again."

    def __init__(
        self, message: str = "", *, retry_after: float | None = None, local: bool = False, **kw
    ) -> None:
        """Keep the wait SCP asked for; see ScpError for the rest."""
        kw.setdefault("cause", "throttled")
        super().__init__(message, retry_after=retry_after, **kw)
        self.local = local

    def to_dict(self) -> dict[str, Any]:
        """As ScpError's, plus whether the console's own budget refused it."""
        return {**super().to_dict(), "local": self.local}


class ScpAddressRefused(ScpError):
    """The console refused to send the request: its URL or resolved address is off limits.

    Nothing left the machine, so a PUT refused so was not applied. The message names why.
    """

    default_message = "The console refused to send the request to this address."

    def __init__(self, message: str = "", **kw: Any) -> None:
        """Mark the cause; see ScpError for the rest."""
        kw.setdefault("cause", "address_refused")
        super().__init__(message, **kw)


class ScpBadResponse(ScpError):
    """SCP answered success but the body is not the JSON expected."""

    permanent = False
    default_message = "SCP answered with a body the console cannot read: try again later."


def error_from_response(
    status: int,
    text: str,
    *,
    by_id: bool,
    method: str,
    retry_after: str | None = None,
    now: float | None = None,
) -> ScpError:
    """The typed error for an SCP answer with this status and body, whatever its envelope.

    `retry_after` is the raw Retry-After header (seconds or an HTTP date), `now` the epoch
    seconds to measure a date against.
    """
    error = _error_from_response(status, text, by_id=by_id, method=method)
    wait = parse_retry_after(retry_after, now=now)
    if wait is not None:
        error.retry_after = wait
        if not isinstance(error, ScpThrottled) and not error.permanent:
            # A Retry-After on a 503 is SCP asking for patience: throttling by another name.
            error = ScpThrottled(
                error.message,
                retry_after=wait,
                status=error.status,
                code=error.code,
                details=error.details,
                global_request_id=error.global_request_id,
                raw_text=error.raw_text,
            )
    return error


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None if unreadable.

    Capped at an hour: a header asking for more is read as a long pause, not a day's silence.
    """
    if value is None or not str(value).strip():
        return None
    text = str(value).strip()
    if text.isdigit():
        return min(float(text), _RETRY_AFTER_CAP)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    base = time.time() if now is None else now
    return min(max(0.0, when.timestamp() - base), _RETRY_AFTER_CAP)


def _is_edge_page(text: str) -> bool:
    """An answer that is not JSON: the edge firewall's HTML page, not SCP's envelope."""
    try:
        json.loads(text or "")
    except ValueError:
        return True
    return False


def _error_from_response(status: int, text: str, *, by_id: bool, method: str) -> ScpError:
    """The typed error by status and envelope, before any Retry-After is applied."""
    envelope = _parse_envelope(text)
    # A detail may quote a rejected value, such as a password that broke the rules.
    details = tuple(redact_text(item) for item in envelope.details)
    answer = _Answer(status, text, envelope, "; ".join(details), by_id)
    kind, message = _error_kind(answer)
    return kind(
        message,
        status=status,
        code=envelope.code,
        details=details,
        global_request_id=envelope.request_id,
        raw_text=text,
    )


class _Answer(NamedTuple):
    """An error answer as the wording of its error reads it."""

    status: int
    text: str
    envelope: _Envelope
    detail: str
    by_id: bool


# (kind, message): an empty message stands for the kind's default message.
_Kind = tuple[type[ScpError], str]


def _error_kind(answer: _Answer) -> _Kind:
    """Which error an answer is, and its message, by status (and text where SCP's differ)."""
    status = answer.status
    if 300 <= status < 400:
        return (
            ScpNotFound,
            f"SCP answered with a redirect (HTTP {status}): the connection's base URL is "
            "probably wrong (check http versus https and the host name).",
        )
    if status in _KIND_BY_STATUS:
        return _KIND_BY_STATUS[status](answer)
    if status == 429 or (status == 417 and _is_edge_page(answer.text)):
        # Seen live: past roughly 80 requests a minute SCP's edge firewall answers 417 with an
        # HTML "Request Rejected" page (SCP_API.md §8). The request never reached SCP.
        return (
            ScpThrottled,
            f"SCP is throttling requests (HTTP {status}{' from its edge' if status == 417 else ''}"
            "): the console waits and tries again.",
        )
    if status == 408 or status >= 500:
        return ScpUnavailable, _unavailable_message(status, answer.envelope.code)
    if 400 <= status < 500:
        return (
            ScpInvalidInput,
            f"SCP refused the request (HTTP {status}){_tail(answer.detail)} Correct it and try "
            "again.",
        )
    return (
        ScpBadResponse,
        f"SCP answered with an unexpected status (HTTP {status}): try again later.",
    )


def _bad_request(answer: _Answer) -> _Kind:
    """400: the values, or (for a call on one service) whatever SCP's own code says."""
    if answer.by_id:
        said = _quoted(answer.envelope.code, answer.detail)
        # SCP answers an unknown or malformed id with 400 too, but so it does bad values and
        # a second PUT during UPDATING: its own code and detail say which, never our guess.
        return (
            ScpInvalidInput,
            f"SCP refused the request for this service{said}",
        )
    return (
        ScpInvalidInput,
        f"SCP rejected the values sent{_tail(answer.detail)} Correct them and try again.",
    )


def _unauthorized(answer: _Answer) -> _Kind:
    """401: Data Flow not enabled for the account, or a refused signature."""
    lowered = (answer.text or "").lower()
    if any(marker in lowered for marker in _NOT_ENABLED_MARKERS):
        return ScpNotEnabled, ""
    return ScpBadCredentials, ""


def _forbidden(answer: _Answer) -> _Kind:
    """403: a missing permission or another project's service."""
    # Live calls show 403 for ids of another project as well as for missing permissions.
    return (
        ScpForbidden,
        f"SCP denied access{_quoted(answer.envelope.code, answer.detail)} The access key may "
        "lack the permission, or the service belongs to another project: ask the SCP account "
        "administrator.",
    )


def _not_found(answer: _Answer) -> _Kind:
    """404: from the service itself, or from the gateway that knows no such address."""
    if answer.envelope.kind == "service":
        return ScpNotFound, f"SCP found nothing at this address{_tail(answer.detail)}"
    return (
        ScpNotFound,
        "SCP's gateway does not know this address: the connection's base URL may be wrong, "
        "or the request went out unsigned.",
    )


def _not_acceptable(answer: _Answer) -> _Kind:
    """406: SCP does not serve the API version asked for."""
    return ScpVersionNotSupported, ""


_KIND_BY_STATUS: dict[int, Callable[[_Answer], _Kind]] = {
    400: _bad_request,
    401: _unauthorized,
    403: _forbidden,
    404: _not_found,
    406: _not_acceptable,
}


def _unavailable_message(status: int, code: str) -> str:
    if code == "ContactAdminForAssistance":
        return (
            f"SCP failed to process the request (HTTP {status}): try again later; if it "
            "keeps failing, contact SCP support quoting the global request id."
        )
    return f"SCP is unavailable right now (HTTP {status}): try again in a few minutes."


class _Envelope:
    """What an error body says, whichever of SCP's shapes it came in."""

    __slots__ = ("code", "details", "kind", "request_id")

    def __init__(
        self, kind: str, code: str = "", details: tuple[str, ...] = (), request_id: str = ""
    ) -> None:
        self.kind = kind
        self.code = code
        self.details = details
        self.request_id = request_id


def _parse_envelope(text: str) -> _Envelope:
    """What an error body says: SCP's `errors` list, the gateway's envelope, or plain text."""
    try:
        data = json.loads(text) if text else None
    except ValueError:
        data = None
    if isinstance(data, dict):
        return _object_envelope(data)
    return _Envelope("other", details=_non_empty(_plain_text(text or "")))


def _object_envelope(data: dict[str, Any]) -> _Envelope:
    """The envelope of a JSON object body, by which of SCP's shapes it has."""
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        return _service_envelope([item for item in errors if isinstance(item, dict)])
    if "error" in data and "status" in data:
        # The gateway's envelope: {"timestamp", "path", "status", "error", "requestId"}.
        return _Envelope(
            "gateway",
            code=_text(data.get("error")),
            details=_non_empty(data.get("message"), data.get("path")),
            request_id=_text(data.get("requestId") or data.get("request_id")),
        )
    return _Envelope(
        "other",
        code=_text(data.get("code")),
        details=_non_empty(data.get("detail"), data.get("message"), data.get("error")),
        request_id=_text(data.get("global_request_id") or data.get("requestId")),
    )


def _service_envelope(errors: list[dict[str, Any]]) -> _Envelope:
    details: list[str] = []
    for item in errors:
        detail = item.get("detail")
        if isinstance(detail, list):
            details.extend(_text(part) for part in detail if _text(part))
        elif _text(detail):
            details.append(_text(detail))
    first = errors[0] if errors else {}
    return _Envelope(
        "service",
        code=_text(first.get("code") or first.get("title")),
        details=tuple(details),
        request_id=_text(first.get("global_request_id") or first.get("request_id")),
    )


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value).strip()


def _non_empty(*values: Any) -> tuple[str, ...]:
    return tuple(text for text in (_text(value) for value in values) if text)


_SUPPORT_ID = re.compile(r"support\s*id\s*(?:is)?\s*[:#]?\s*([0-9A-Za-z-]{4,64})", re.IGNORECASE)


def _plain_text(text: str) -> str:
    """A short readable line out of an HTML page or a plain body.

    An edge firewall's page ("Request Rejected") names a support id in its text: it is kept,
    since SCP support asks for it.
    """
    support = _SUPPORT_ID.search(re.sub(r"<[^>]+>", " ", text))
    title = re.search(r"<title[^>]*>(.*?)</title>", text, re.IGNORECASE | re.DOTALL)
    if title:
        text = title.group(1)
        if support:
            text = f"{text} (support ID {support.group(1)})"
    elif "<" in text:
        text = re.sub(r"<[^>]+>", " ", text)
    text = " ".join(html.unescape(text).split())
    return redact_text(text)[:300]


def _quoted(code: str, detail: str) -> str:
    """SCP's own code and detail as the end of a sentence: ` (Code: detail).`"""
    said = ": ".join(part for part in (code, detail.rstrip(".")) if part)
    return f" ({said})." if said else "."


def _tail(detail: str) -> str:
    return f": {detail.rstrip('.')}." if detail else "."
