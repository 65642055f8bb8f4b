"""The console's processes as production runs them, for the memory and browser benchmarks.

Gunicorn serves `console.wsgi` with DEBUG=0 and the console's own settings (not the test
settings), after `collectstatic` and `createsuperuser` as the README's production steps run
them; the bench's database, broker and var folder are shared through the environment. Every
request carries the TLS proxy's X-Forwarded-Proto, as in the production smoke.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
PROXY_HEADERS = {"X-Forwarded-Proto": "https"}
PLATFORM_SERVICES = 10_000
PLATFORM_CHANGES = 5_000
# One account per run (each run has a database of its own); its password only this process knows.
WEB_USER = "bench-web"
WEB_PASSWORD = secrets.token_urlsafe(18)
_SECRET_KEY = secrets.token_urlsafe(50)
_FERNET_KEY = ""


def production_env(**extra: str) -> dict[str, str]:
    """The environment of a production process: DEBUG off, the console's settings."""
    from cryptography.fernet import Fernet

    global _FERNET_KEY
    _FERNET_KEY = _FERNET_KEY or Fernet.generate_key().decode()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSOLE_TEST_")}
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        DEBUG="0",
        SECRET_KEY=_SECRET_KEY,
        CONSOLE_ENCRYPTION_KEYS=_FERNET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        BEHIND_TLS_PROXY="1",
        SCP_OPENAPI_URL=str(settings.SCP_OPENAPI_URL or "http://127.0.0.1:9"),
        SCP_ACCESS_KEY=str(settings.SCP_ACCESS_KEY),
        SCP_SECRET_KEY=str(settings.SCP_SECRET_KEY),
        CONSOLE_SYNC_AT_WORKER_START="0",
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


def manage(*args: str, env: dict[str, str]) -> None:
    """`python manage.py ...` under `env`; its output in the error when it fails."""
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def platform_seed() -> None:
    """The platform the pages are measured on: 10,000 services and 5,000 changes (topped up)."""
    from console.dataflow.models import ChangeRequest
    from tests.bench.bench_scale import _seed_changes, _seed_services, _superuser

    _seed_services(PLATFORM_SERVICES)
    missing = PLATFORM_CHANGES - ChangeRequest.objects.count()
    if missing > 0:
        _seed_changes(missing, _superuser())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def process_group_stop(process: subprocess.Popen, *, grace: float = 15.0) -> None:
    """SIGTERM the process's group (it was started in a session of its own), then SIGKILL."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
    except ProcessLookupError:
        pass


@dataclass
class Web:
    """A running gunicorn: its address and master's pid."""

    host: str
    port: int
    pid: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def _prepare(env: dict[str, str]) -> None:
    """collectstatic (once per run) and the superuser (once per database)."""
    from django.contrib.auth import get_user_model

    static_root = Path(settings.STATIC_ROOT)
    if not (static_root / "staticfiles.json").exists():
        manage("collectstatic", "--noinput", env=env)
    if not get_user_model().objects.filter(username=WEB_USER).exists():
        manage(
            "createsuperuser",
            "--noinput",
            "--username",
            WEB_USER,
            "--email",
            "bench@example.com",
            env={**env, "DJANGO_SUPERUSER_PASSWORD": WEB_PASSWORD},
        )


@contextmanager
def gunicorn(*, workers: int = 3) -> Iterator[Web]:
    """Procfile.production's web line on a free port; stopped (its whole group) afterwards."""
    port = free_port()
    # The browser speaks plain HTTP to gunicorn; behind a real proxy its origin is https://.
    env = production_env(CSRF_TRUSTED_ORIGINS=f"http://127.0.0.1:{port}")
    _prepare(env)
    log = Path(settings.VAR_DIR) / f"gunicorn-{uuid.uuid4().hex[:6]}.log"
    out = log.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "console.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--timeout",
            "60",
            "--logger-class",
            "console.accesslog.TokenFreeLogger",
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    web = Web("127.0.0.1", port, process.pid, log)
    try:
        _wait_healthy(web, process)
        yield web
    finally:
        process_group_stop(process)
        out.close()


def _wait_healthy(web: Web, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{web.log.read_text(errors='replace')}")
        try:
            status, _, _ = request(web, "GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer /healthz:\n{web.log.read_text(errors='replace')}")


def request(
    web: Web, method: str, path: str, *, cookie: str = "", body: dict | None = None
) -> tuple[int, dict[str, list[str]], bytes]:
    """One request on a fresh connection, as from behind the proxy; status, headers, body."""
    headers = {**PROXY_HEADERS, "Host": f"{web.host}:{web.port}", "Accept-Encoding": "identity"}
    if cookie:
        headers["Cookie"] = cookie
    data = None
    if body is not None:
        data = urlencode(body).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers["Origin"] = f"https://{web.host}:{web.port}"
        headers["Referer"] = f"https://{web.host}:{web.port}{path}"
    conn = http.client.HTTPConnection(web.host, web.port, timeout=60)
    try:
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        content = response.read()
        found: dict[str, list[str]] = {}
        for name, value in response.getheaders():
            found.setdefault(name.lower(), []).append(value)
        return response.status, found, content
    finally:
        conn.close()


def _cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    return dict(cookie.split(";", 1)[0].split("=", 1) for cookie in headers.get("set-cookie", []))


def sign_in(web: Web) -> dict[str, str]:
    """Post the sign-in form as a browser would; the cookies of the signed-in session."""
    status, headers, page = request(web, "GET", "/accounts/login/")
    if status != 200:
        raise RuntimeError(f"the sign-in page answered {status}")
    cookies = _cookies(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    if token is None or "csrftoken" not in cookies:
        raise RuntimeError("the sign-in page carries no CSRF token")
    form = {
        "csrfmiddlewaretoken": token.group(1).decode(),
        "username": WEB_USER,
        "password": WEB_PASSWORD,
    }
    jar = "; ".join(f"{k}={v}" for k, v in cookies.items())
    status, headers, _ = request(web, "POST", "/accounts/login/", cookie=jar, body=form)
    cookies |= _cookies(headers)
    if status != 302 or "sessionid" not in cookies:
        raise RuntimeError(f"signing in answered {status} without a session")
    return cookies
