"""HTTP for the simulator: `http.server` keeps the request-target exactly as received, which the
signature check needs; each request is read whole, handed over, and answered (or dropped)."""

from __future__ import annotations

import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

from console.simulator.messages import Request, Response, service_error

logger = logging.getLogger("console.simulator")


class Handler(Protocol):
    """What the server asks: one response per request, and an event that stops held requests."""

    stopping: threading.Event

    def handle(self, request: Request) -> Response:
        """The answer to one request; never raises."""
        ...


class SimulatorHTTPServer(ThreadingHTTPServer):
    """A threading HTTP server carrying the `Simulator` its handlers answer with."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Handler) -> None:
        """Bind to `address` (an IPv6 host switches the address family)."""
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.simulator = simulator
        super().__init__(address, RequestHandler)


class RequestHandler(BaseHTTPRequestHandler):
    """Feeds raw requests to `Simulator.handle` and writes its responses."""

    server: SimulatorHTTPServer
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle on, the body waits for a delayed ACK.
    disable_nagle_algorithm = True
    server_version = "scp-simulator"
    sys_version = ""

    def do_GET(self) -> None:
        """Answer a GET."""
        self._dispatch()

    def do_PUT(self) -> None:
        """Answer a PUT."""
        self._dispatch()

    def do_POST(self) -> None:
        """Answer a POST."""
        self._dispatch()

    def do_DELETE(self) -> None:
        """Answer a DELETE."""
        self._dispatch()

    def do_PATCH(self) -> None:
        """Answer a PATCH."""
        self._dispatch()

    def _dispatch(self) -> None:
        """Read the whole request, ask the simulator, write the answer (or drop the line)."""
        body = self._read_body()
        if body is None:
            self._write(Response(400, service_error(400, "ValidationError", "bad request body")))
            self.close_connection = True
            return
        request = Request(
            method=self.command,
            target=self.path,  # http.server keeps the request-target exactly as received
            headers=dict(self.headers.items()),
            body=body,
        )
        response = self.server.simulator.handle(request)
        if response.drop:
            self.close_connection = True
            return
        self._write(response)

    def _read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None when it cannot be read."""
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size_line = self.rfile.readline(65537).split(b";")[0].strip()
                try:
                    size = int(size_line, 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            return self.rfile.read(int(length))
        except ValueError:
            return None

    def _write(self, response: Response) -> None:
        """Send `response` as JSON (text as HTML) with its length, so keep-alive stays usable."""
        data = b""
        content_type = "application/json"
        if isinstance(response.body, str):
            data = response.body.encode("utf-8")
            content_type = "text/html; charset=utf-8"
        elif response.body is not None:
            data = json.dumps(response.body, ensure_ascii=False).encode("utf-8")
        try:
            self.send_response(response.status)
            if response.body is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (a timeout during an injected delay): nothing left to tell it.
            self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        """Route http.server's access log to logging instead of stderr."""
        logger.info("%s " + format, self.address_string(), *args)
