"""A tiny SCP stand-in over real sockets: a version list at `/`, a signed service list."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine

from console.scp import sign

ACCESS_KEY = "LOCALACCESSKEY01"
SECRET_KEY = "LOCALSECRETKEY01"

# The documented example of SCP_API.md §3, with 1.1 added as the reference now shows it and
# 1.0 DEPRECATED; `not_before` is each version's last supported day.
DEPRECATED_LIST = {
    "versions": [
        {
            "id": "v1.0",
            "links": [{"href": "https://example.invalid/v1.0", "rel": "self"}],
            "not_before": "2027-01-31",
            "status": "DEPRECATED",
        },
        {
            "id": "v1.1",
            "links": [{"href": "https://example.invalid/v1.1", "rel": "self"}],
            "not_before": "2028-02-23",
            "status": "CURRENT",
        },
    ]
}
# The day the tests read that list on: 58 days before 1.0's last supported day.
LIST_DAY = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
EMPTY_PAGE = {"contents": [], "total_count": 0}


class LocalScp:
    """Answers `/` (unsigned too) and `/v1/data-flow-services` as configured; checks signatures."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {
            "/": (200, DEPRECATED_LIST),
            "/v1/data-flow-services": (200, EMPTY_PAGE),
        }
        # True: the root, like every path, refuses a call without a good signature.
        self.root_needs_signature = False
        self.seen: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                owner.seen.append({"path": self.path, "headers": dict(self.headers)})
                status, body = owner.answer(self.path, dict(self.headers))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, raw_path: str, headers: dict[str, str]) -> tuple[int, Any]:
        """401 HmacValidFail for a bad signature, else the route's answer, else a gateway 404."""
        if raw_path == "/" and not self.root_needs_signature and "Scp-Signature" not in headers:
            return self.routes.get("/", (404, {"status": 404, "error": "Not Found", "path": "/"}))
        expected = sign(
            "GET",
            self.url + raw_path,
            headers.get("Scp-Timestamp", ""),
            headers.get("Scp-Accesskey", ""),
            SECRET_KEY,
        )
        if headers.get("Scp-Signature") != expected:
            return 401, {
                "errors": [
                    {
                        "code": "HmacValidFail",
                        "detail": "signature mismatch",
                        "global_request_id": "req-local-0001",
                        "status": 401,
                        "title": "HmacValidFail",
                    }
                ]
            }
        path = raw_path.split("?", 1)[0]
        if path in self.routes:
            return self.routes[path]
        return 404, {
            "timestamp": "2026-01-01T00:00:00Z",
            "path": path,
            "status": 404,
            "error": "Not Found",
            "requestId": "gw-1",
        }

    def versions(self, *entries: dict[str, Any]) -> None:
        """Serve these version entries at `/`."""
        self.routes["/"] = (200, {"versions": list(entries)})


@pytest.fixture
def local_scp() -> Iterator[LocalScp]:
    """A local SCP stand-in on a free port, stopped after the test."""
    server = LocalScp()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


@pytest.fixture
def on_list_day() -> Iterator[None]:
    """The clock starts on LIST_DAY (and runs on), so that days left never depend on the run."""
    with time_machine.travel(LIST_DAY, tick=True):
        yield


@pytest.fixture
def default_on_local(settings, local_scp: LocalScp, on_list_day: None) -> LocalScp:
    """The default connection on the local stand-in, configured with data-flow 1.0, on LIST_DAY."""
    settings.SCP_OPENAPI_URL = local_scp.url
    settings.SCP_ACCESS_KEY = ACCESS_KEY
    settings.SCP_SECRET_KEY = SECRET_KEY
    settings.SCP_API_VERSION = "data-flow 1.0"
    return local_scp
