"""A tiny SCP stand-in over real sockets: a version list at `/`, a signed service list."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from console.scp import sign

ACCESS_KEY = "LOCALACCESSKEY01"
SECRET_KEY = "LOCALSECRETKEY01"

# The documented example of SCP_API.md §3, with 1.1 added as the reference now shows it.
DEPRECATED_LIST = {
    "versions": [
        {
            "id": "v1.0",
            "links": [{"href": "https://example.invalid/v1.0", "rel": "self"}],
            "not_before": "2025-06-01",
            "not_after": "2027-01-31",
            "status": "DEPRECATED",
        },
        {
            "id": "v1.1",
            "links": [{"href": "https://example.invalid/v1.1", "rel": "self"}],
            "not_before": "2026-02-23",
            "status": "CURRENT",
        },
    ]
}
EMPTY_PAGE = {"contents": [], "total_count": 0}


class LocalScp:
    """Answers `/` and `/v1/data-flow-services` as configured; checks every signature."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, Any]] = {
            "/": (200, DEPRECATED_LIST),
            "/v1/data-flow-services": (200, EMPTY_PAGE),
        }
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
def default_on_local(settings, local_scp: LocalScp) -> LocalScp:
    """The default connection pointed at the local stand-in, configured with data-flow 1.0."""
    settings.SCP_OPENAPI_URL = local_scp.url
    settings.SCP_ACCESS_KEY = ACCESS_KEY
    settings.SCP_SECRET_KEY = SECRET_KEY
    settings.SCP_API_VERSION = "data-flow 1.0"
    return local_scp
