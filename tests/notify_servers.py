"""Servers the notification tests start on loopback: SMTP (aiosmtpd), a down SMTP, a webhook."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def catalogue_compile() -> None:
    """Compile the Korean catalogues (project and app) when a .mo is missing or older."""
    from django.core.management import call_command

    catalogues = [
        ROOT / "locale/ko/LC_MESSAGES/django.po",
        ROOT / "console/dataflow/locale/ko/LC_MESSAGES/django.po",
    ]
    if any(
        not (mo := po.with_suffix(".mo")).exists() or mo.stat().st_mtime < po.stat().st_mtime
        for po in catalogues
    ):
        call_command(
            "compilemessages", locale=["ko"], ignore_patterns=[".venv", "var"], verbosity=0
        )
        from django.utils.translation import trans_real

        trans_real._translations = {}  # catalogues read before the compile were empty


class _Capture:
    """aiosmtpd handler that keeps every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 Message accepted"


@dataclass
class SmtpServer:
    """A running SMTP server and the mail it received."""

    port: int
    handler: _Capture

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return self.handler.messages

    def wait_for(self, count: int = 1, timeout: float = 30.0) -> list[email.message.EmailMessage]:
        """Wait until `count` messages arrived; all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.messages) >= count:
                return list(self.messages)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.messages)} message(s) after {timeout} s, wanted {count}")


@contextmanager
def smtp_server(port: int | None = None) -> Iterator[SmtpServer]:
    """aiosmtpd on loopback (on `port`, or a free one) until the block ends."""
    port = port or free_port()
    handler = _Capture()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(port=port, handler=handler)
    finally:
        controller.stop()


@dataclass
class Webhook:
    """A local webhook: the JSON bodies it received, answering with `statuses` in turn."""

    url: str
    statuses: list[int]
    received: list[dict[str, Any]] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[dict[str, Any]]:
        """Wait until `count` requests arrived; all of them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.received) >= count:
                return list(self.received)
            time.sleep(0.1)
        raise AssertionError(f"{len(self.received)} request(s) after {timeout} s, wanted {count}")


@contextmanager
def webhook_server(statuses: list[int]) -> Iterator[Webhook]:
    """An HTTP server on loopback taking POSTs; answers `statuses` in turn, then 200."""
    hook = Webhook(url="", statuses=list(statuses))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            hook.received.append(
                {
                    "path": self.path,
                    "content_type": self.headers.get("Content-Type"),
                    "json": json.loads(self.rfile.read(length) or b"null"),
                }
            )
            status = hook.statuses.pop(0) if hook.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    hook.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/data-flow"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield hook
    finally:
        server.shutdown()
        server.server_close()
