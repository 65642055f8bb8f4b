"""A Celery worker in its own process, as deployed: started, killed with SIGKILL, started again."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    """The test database as a URL the worker process can open."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class WorkerProcess:
    """`celery -A console worker` (prefork) on a queue of its own, with a fixed node name.

    The same node name across restarts is what lets a restarted worker recognise the claims
    of its dead predecessor.
    """

    def __init__(
        self, *, queue: str, env: dict[str, str], concurrency: int = 2, plain: bool = False
    ) -> None:
        # `plain`: started as the README's `celery -A console worker`, without --queues.
        self.plain = plain
        self.queue = queue
        self.concurrency = concurrency
        self.node = f"test-{queue}@localhost"
        self.env = env
        self.process: subprocess.Popen | None = None
        self.log = Path(os.environ["CONSOLE_VAR_DIR"]) / f"worker-{queue}.log"

    def start(self) -> None:
        """Start the worker and return once it consumes its queue."""
        log = self.log.open("a")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "console",
                "worker",
                "--pool",
                "prefork",
                "--concurrency",
                str(self.concurrency),
                *([] if self.plain else ["--queues", self.queue]),
                "--hostname",
                self.node,
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: SIGKILL reaches the pool too
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if "ready." in self.log.read_text(errors="replace"):
                return
            if self.process.poll() is not None:
                raise RuntimeError(f"the worker exited:\n{self.output()}")
            time.sleep(0.1)
        raise RuntimeError(f"the worker did not start:\n{self.output()}")

    def kill(self) -> None:
        """SIGKILL the worker and its pool processes, as a lost machine or an OOM kill would."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)
        # A fresh log per life, so that "ready." means this life.
        if self.log.exists():
            self.log.rename(self.log.with_suffix(f".{uuid.uuid4().hex[:6]}.log"))

    def stop(self) -> None:
        """Stop the worker (SIGKILL: nothing it holds matters after the test)."""
        self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def worker_env(*, queue: str, scp_url: str, access_key: str, secret_key: str, **extra: str):
    """The environment of a worker process that shares the test's database and broker."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": _database_url(),
        "CONSOLE_TEST_QUEUE": queue,
        "SCP_OPENAPI_URL": scp_url,
        "SCP_ACCESS_KEY": access_key,
        "SCP_SECRET_KEY": secret_key,
        "SCP_TRACK_FIRST_POLL_SECONDS": "0.2",
        "SCP_TRACK_MAX_POLL_SECONDS": "0.5",
        **extra,
    }
