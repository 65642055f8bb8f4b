"""The client over real sockets against a tiny local server: 403, raw URL, timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from console.scp import ScpClient, ScpForbidden, ScpUnavailable, sign

ACCESS_KEY = "LOCALACCESSKEY01"
SECRET_KEY = "LOCALSECRETKEY01"


class LocalScp:
    """A one-route HTTP server: answers every request with the status, body and delay given."""

    def __init__(self) -> None:
        self.status = 200
        self.body: Any = {}
        self.delay = 0.0
        self.seen: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                owner.seen.append(
                    {
                        "method": self.command,
                        "raw_path": self.path,
                        "headers": dict(self.headers),
                        "body": self.rfile.read(length) if length else b"",
                    }
                )
                time.sleep(owner.delay)
                payload = json.dumps(owner.body).encode()
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up waiting

            do_GET = do_PUT = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def client(self, **options: Any) -> ScpClient:
        """A client of this server, with quick retries."""
        settings: dict[str, Any] = {
            "base_url": self.url,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "backoff_seconds": 0.01,
        }
        settings.update(options)
        return ScpClient(**settings)


@pytest.fixture
def local_scp() -> Iterator[LocalScp]:
    """A tiny HTTP server on a free port, stopped after the test."""
    server = LocalScp()
    server.thread.start()
    yield server
    server.server.shutdown()
    server.server.server_close()


def test_403_over_http_is_forbidden_and_not_retried(local_scp: LocalScp) -> None:
    local_scp.status = 403
    local_scp.body = {"errors": [{"code": "Forbidden", "detail": "no permission", "status": 403}]}
    with pytest.raises(ScpForbidden) as caught:
        local_scp.client().get_service("dfs-0001")
    assert caught.value.detail == "no permission"
    assert len(local_scp.seen) == 1


def test_the_signature_covers_the_raw_url_as_the_server_received_it(local_scp: LocalScp) -> None:
    local_scp.body = {"contents": [], "total_count": 0}
    local_scp.client().list_services(data_flow_service_name="한 글", state="RUNNING")
    seen = local_scp.seen[0]
    assert "data_flow_service_name=%ED%95%9C%20%EA%B8%80" in seen["raw_path"]
    url = local_scp.url + seen["raw_path"]
    headers = seen["headers"]
    expected = sign("GET", url, headers["Scp-Timestamp"], ACCESS_KEY, SECRET_KEY)
    assert headers["Scp-Signature"] == expected


def test_a_server_slower_than_the_read_timeout_is_unavailable(local_scp: LocalScp) -> None:
    local_scp.delay = 0.5
    client = local_scp.client(read_timeout=0.1, max_attempts=2)
    started = time.monotonic()
    with pytest.raises(ScpUnavailable, match="did not answer in time"):
        client.get_service("dfs-0001")
    assert len(local_scp.seen) == 2
    assert time.monotonic() - started < 5


def test_a_closed_port_is_unavailable() -> None:
    server = LocalScp()  # bound but never serving, then closed: nothing listens any more
    url = server.url
    server.server.server_close()
    client = ScpClient(
        base_url=url,
        access_key=ACCESS_KEY,
        secret_key=SECRET_KEY,
        connect_timeout=0.5,
        max_attempts=2,
        backoff_seconds=0.01,
    )
    with pytest.raises(ScpUnavailable, match="Could not reach SCP"):
        client.list_services()
