"""What travels: a raw request, a response, and SCP's error envelopes (service and gateway)."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs

CONTACT_ADMIN_DETAIL = (
    "There was a problem processing your request.\nContact us through Support Center > Contact Us."
)


@dataclass
class Request:
    """One HTTP request as it arrived: the request-target is raw, never decoded."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        """The request-target without its query."""
        return self.target.partition("?")[0]

    @property
    def query(self) -> str:
        """The raw query string, "" when there is none."""
        return self.target.partition("?")[2]

    @property
    def params(self) -> dict[str, str]:
        """The decoded query parameters, the last value of each (UTF-8, as SCP decodes them)."""
        return {
            key: values[-1] for key, values in parse_qs(self.query, keep_blank_values=True).items()
        }

    def header(self, name: str) -> str | None:
        """A header's value, found case-insensitively as HTTP says."""
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None


@dataclass
class Response:
    """What to answer: a JSON body, or `drop` to close the connection without an answer."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


class ApiError(Exception):
    """An answer in SCP's service error envelope, with the short verdict for the request log."""

    def __init__(self, status: int, code: str, detail: str | list[str], verdict: str) -> None:
        """Keep the envelope's parts."""
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.verdict = verdict

    def response(self) -> Response:
        """The error as SCP's envelope."""
        return Response(self.status, service_error(self.status, self.code, self.detail))


def validation_error(detail: str | list[str], verdict: str = "validation error") -> ApiError:
    """SCP's 400 `ValidationError`."""
    return ApiError(400, "ValidationError", detail, verdict)


def service_error(status: int, code: str, detail: str | list[str]) -> dict[str, Any]:
    """SCP's service error envelope with a fresh request id."""
    request_id = "req-" + uuid.uuid4().hex
    return {
        "errors": [
            {
                "code": code,
                "detail": detail,
                "global_request_id": request_id,
                "links": [],
                "related_resources": [],
                "request_id": request_id,
                "response": None,
                "status": status,
                "title": code,
            }
        ]
    }


def gateway_error(status: int, path: str) -> dict[str, Any]:
    """The API gateway's own envelope (a call without auth headers, an unknown path, a 503)."""
    now = datetime.now(tz=UTC)
    return {
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+00:00",
        "path": path,
        "status": status,
        "error": HTTPStatus(status).phrase,
        "requestId": str(uuid.uuid4()),
    }


def contact_admin() -> Response:
    """SCP's generic 500, `ContactAdminForAssistance`."""
    return Response(500, service_error(500, "ContactAdminForAssistance", CONTACT_ADMIN_DETAIL))


def control_error(status: int, detail: str | list[str]) -> Response:
    """A control endpoint's error: plain, since no SCP client ever reads it."""
    return Response(status, {"error": detail})


def body_for_log(raw: bytes) -> Any:
    """The request body as the log shows it: parsed JSON, else text, else None."""
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def json_parse(raw: bytes) -> Any:
    """Strict JSON: UTF-8, no NaN or Infinity, as a Java service's parser would insist."""

    def refuse(constant: str) -> Any:
        """Reject NaN and the infinities, which Python's parser accepts by default."""
        raise ValueError(f"{constant} is not JSON")

    return json.loads(raw.decode("utf-8"), parse_constant=refuse)
