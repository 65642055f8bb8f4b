"""Real infrastructure the fault tests stop and start: a Redis server, a TCP proxy in front of
PostgreSQL, and the console's Celery app pointed at another broker for a while."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import kombu.pools

from console.celery import app

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class RedisServer:
    """A redis-server of the test's own on a free port: stopped and started like a real outage."""

    def __init__(self, folder: Path) -> None:
        """Nothing runs yet; `start()` starts it."""
        if not Path(REDIS_SERVER).exists():
            raise RuntimeError("redis-server is needed: apt-get install redis-server (make test)")
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The broker URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (again) on the same port; return once it answers."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        """Stop it at once (its data goes with it, as with `--save ""`)."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@contextmanager
def app_on(*, broker_url: str, routes: dict, default_queue: str) -> Iterator[None]:
    """This process's Celery app on another broker with these routes, then back as it was."""
    keys = ("broker_url", "broker_transport_options", "task_routes", "task_default_queue")
    saved = {key: app.conf[key] for key in keys}

    def forget() -> None:
        # The app caches its connection pool, producer pool and router: it builds them again.
        # kombu's registry of pools is emptied first, or a pool of the old broker comes back.
        kombu.pools.reset()
        app._pool = None
        app.amqp._producer_pool = None
        app._after_fork()
        app.amqp.__dict__.pop("router", None)
        app.amqp.flush_routes()

    same_broker = broker_url == app.conf.broker_url
    # Celery reads CELERY_BROKER_URL from the environment before its own setting (CI sets it).
    saved_env = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = broker_url
    app.conf.update(
        broker_url=broker_url,
        broker_transport_options=saved["broker_transport_options"] if same_broker else {},
        task_routes=routes,
        task_default_queue=default_queue,
    )
    forget()
    try:
        yield
    finally:
        # Close every pooled connection (Redis's too) and empty kombu's registry of pools, so
        # that nothing after this test picks up a pool of this broker, or a closed one.
        kombu.pools.reset()
        if saved_env is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved_env
        app.conf.update(saved)
        forget()


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; `cut()` drops every connection and refuses new
    ones until `restore()`: the database going away, as the worker sees it."""

    def __init__(self, target_host: str, target_port: int) -> None:
        """Listen on a free port, forwarding to the target."""
        self.target = (target_host, target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open = threading.Event()
        self._open.set()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self._open.is_set():
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        """Drop every connection and refuse new ones."""
        self._open.clear()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def restore(self) -> None:
        """Accept connections again."""
        self._open.set()

    def close(self) -> None:
        """Stop listening and drop everything."""
        self._closed = True
        self.cut()
        self.listener.close()
