"""The README's production path, run as a new user would: DEBUG off, collectstatic, gunicorn
behind a TLS proxy, check --deploy, /healthz with the broker down, one log line per 403."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")

# Exactly the variables the README's production section lists (plus where files go).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "roduction-secret-key-for-the-test-only-0123456789",
    "CONSOLE_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    "ALLOWED_HOSTS": "console.example.com,127.0.0.1",
    "SCP_OPENAPI_URL": "https://data-flow.kr-west1.e.samsungsdscloud.com",
}


def _env(var_dir: Path, **overrides: str) -> dict[str, str]:
    """A clean environment: none of this machine's console variables leak in."""
    keep = {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(PRODUCTION)
    env["CONSOLE_VAR_DIR"] = str(var_dir)
    env.update(overrides)
    return env


def _manage(env: dict[str, str], *args: str, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, headers: dict[str, str] | None = None):
    """(status, headers, body) without following redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(_NoRedirect)
    headers = {"Host": "console.example.com", **(headers or {})}
    request = urllib.request.Request(url, headers=headers)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def test_check_deploy_is_clean_with_the_readme_variables(tmp_path):
    result = _manage(_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_warns_when_a_lab_turns_https_off(tmp_path):
    env = _env(tmp_path, SECURE_HSTS_SECONDS="0", SECURE_SSL_REDIRECT="0")
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout
    assert "security.W008" in result.stderr + result.stdout


def test_scp_openapi_url_is_required_without_debug(tmp_path):
    env = _env(tmp_path)
    del env["SCP_OPENAPI_URL"]
    result = _manage(env, "check")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "Configuration error: SCP_OPENAPI_URL is required when DEBUG is off "
        "(e.g. https://data-flow.kr-west1.e.samsungsdscloud.com)."
    ]


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS"),
        ({"LOG_FORMAT": "xml"}, "LOG_FORMAT"),
        ({"EMAIL_URL": "nonsense"}, "EMAIL_URL"),
        ({"SIGNIN_LOCKOUT_MINUTES": "-1"}, "SIGNIN_LOCKOUT_MINUTES"),
        ({"FORWARDED_ALLOW_IPS": "proxy.example.com"}, "FORWARDED_ALLOW_IPS"),
        ({"SESSION_IDLE_MINUTES": "0"}, "SESSION_IDLE_MINUTES"),
        ({"SESSION_MAX_HOURS": "half a day"}, "SESSION_MAX_HOURS"),
    ],
)
def test_new_variables_fail_with_one_line(tmp_path, overrides, variable):
    result = _manage(_env(tmp_path, **overrides), "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and variable in lines[0], result.stderr


def test_the_simulator_is_a_development_app_only(tmp_path):
    probe = "from django.conf import settings as s; print('console.simulator' in s.INSTALLED_APPS)"
    outputs = []
    for debug in ("0", "1"):
        env = _env(tmp_path, DEBUG=debug, DJANGO_SETTINGS_MODULE="console.settings")
        result = subprocess.run(
            [sys.executable, "-c", f"import django; django.setup(); {probe}"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        outputs.append(result.stdout.strip())
    assert outputs == ["False", "True"]


def test_the_readmes_production_steps_need_only_the_runtime_requirements():
    # `honcho start -f Procfile.production` right after `pip install -r requirements.txt`.
    assert "honcho==" in (ROOT / "requirements.txt").read_text().lower()
    assert "honcho start -f Procfile.production" in (ROOT / "README.md").read_text()
    assert "sync_services" not in (ROOT / "Procfile").read_text()


def test_client_ip_behind_a_tls_proxy_is_the_address_the_proxy_saw(tmp_path):
    probe = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from axes.helpers import get_client_ip_address\n"
        "r = RequestFactory().get('/', HTTP_X_FORWARDED_FOR='6.6.6.6, 203.0.113.9',"
        " REMOTE_ADDR='127.0.0.1')\n"
        "print(get_client_ip_address(r))\n"
    )
    answers = []
    for proxied in ("1", "0"):
        env = _env(tmp_path, BEHIND_TLS_PROXY=proxied, DJANGO_SETTINGS_MODULE="console.settings")
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        answers.append(result.stdout.strip())
    # Behind the proxy: the right-most entry, never the forged left one; direct: the socket.
    assert answers == ["203.0.113.9", "127.0.0.1"]


def test_healthz_answers_503_when_the_broker_is_down(tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        closed = sock.getsockname()[1]
    env = _env(
        tmp_path,
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="console.settings",
        CELERY_BROKER_URL=f"redis://127.0.0.1:{closed}/0",
    )
    assert _manage(env, "migrate", "--noinput").returncode == 0
    probe = (
        "import django, time; django.setup()\n"
        "from django.test import Client\n"
        "t = time.monotonic(); r = Client().get('/healthz', HTTP_HOST='127.0.0.1')\n"
        "import json; print(json.dumps([r.status_code, r.json(), time.monotonic() - t]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    status, body, seconds = json.loads(result.stdout.strip().splitlines()[-1])
    assert status == 503
    assert body == {"database": "ok", "broker": "unreachable"}
    assert seconds < 10


def test_a_403_and_a_404_log_one_json_line_each(tmp_path):
    env = _env(tmp_path, DEBUG="1", LOG_FORMAT="json", DJANGO_SETTINGS_MODULE="console.settings")
    assert _manage(env, "migrate", "--noinput").returncode == 0
    probe = (
        "import django; django.setup()\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.test import Client\n"
        "c = Client(); c.force_login(get_user_model().objects.create_user('nobody'))\n"
        "c.post('/services/refresh/', HTTP_HOST='127.0.0.1')\n"
        "c.get('/no/such/page/', HTTP_HOST='127.0.0.1')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stderr.splitlines()]
    request_records = [r for r in records if r["logger"] == "django.request"]
    assert [(r["status_code"], r["level"]) for r in request_records] == [
        (403, "WARNING"),
        (404, "WARNING"),
    ]
    assert all("exc_info" not in r for r in records)


def test_collectstatic_then_gunicorn_serves_the_sign_in_page_behind_a_tls_proxy(tmp_path):
    env = _env(tmp_path, STATIC_ROOT=str(tmp_path / "static"), BEHIND_TLS_PROXY="1")
    collected = _manage(env, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert _manage(env, "migrate", "--noinput").returncode == 0

    port = _free_port()
    server = subprocess.Popen(
        [str(GUNICORN), "console.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    https = {"X-Forwarded-Proto": "https"}
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        status, headers, page = _get(f"{base}/accounts/login/", https)
        assert status == 200, page[:500]
        assert "default-src 'self'" in headers["Content-Security-Policy"]
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        assert "Secure" in headers["Set-Cookie"]
        assert "<script>" not in page and "style=" not in page
        assert 'name="htmx-config"' in page
        # Every stylesheet and script the page names is served, with its hashed name.
        for asset in ("vendor/bootstrap/bootstrap.min.", "console/console.", "console/theme."):
            assert f"/static/{asset}" in page
        css = page.split('href="/static/vendor/bootstrap/bootstrap.min.', 1)[1].split('"', 1)[0]
        assert _get(f"{base}/static/vendor/bootstrap/bootstrap.min.{css}", https)[0] == 200

        # Plain HTTP is sent to HTTPS, except the load balancer's probe.
        status, headers, _ = _get(f"{base}/accounts/login/")
        assert status == 301
        assert headers["Location"].startswith("https://")
        status, _, body = _get(f"{base}/healthz")
        assert status == 200
        assert json.loads(body) == {"database": "ok", "broker": "ok"}
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=20)
    assert "Traceback" not in errors, errors


def _procfile_command(name: str) -> str:
    """The command of one line of Procfile.production, as honcho or a unit would run it."""
    for line in (ROOT / "Procfile.production").read_text().splitlines():
        if line.startswith(f"{name}:"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"no {name} line in Procfile.production")


def test_the_procfile_web_server_keeps_reset_tokens_out_of_every_log_line(tmp_path):
    token = "cdz1ab-0123456789abcdef0123456789abcdef"
    port = _free_port()
    env = _env(
        tmp_path,
        BEHIND_TLS_PROXY="1",
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_BIND=f"127.0.0.1:{port}",
        WEB_CONCURRENCY="1",
    )
    env["PATH"] = f"{GUNICORN.parent}:{env.get('PATH', '')}"
    assert _manage(env, "collectstatic", "--noinput").returncode == 0
    assert _manage(env, "migrate", "--noinput").returncode == 0
    # The Procfile's own line, run by bash as honcho does.
    server = subprocess.Popen(
        ["bash", "-c", "exec " + _procfile_command("web")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        https = {
            "X-Forwarded-Proto": "https",
            "Referer": f"https://mail.example.com/reset/MQ/{token}/",
        }
        status, _, _ = _get(f"http://127.0.0.1:{port}/accounts/reset/MQ/{token}/", https)
    finally:
        server.terminate()
        out, errors = server.communicate(timeout=20)
    logs = out + errors
    assert status == 404, logs  # no EMAIL_URL: Django logs the path of the 404 as well
    assert "/accounts/reset/MQ/[redacted]/" in logs  # the line is there ...
    assert "Not Found: /accounts/reset/MQ/[redacted]/" in logs
    assert token not in logs  # ... without the token


def test_forwarded_for_from_a_peer_that_is_not_a_trusted_proxy_is_ignored(tmp_path):
    probe = (
        "import django; django.setup()\n"
        "from django.test import RequestFactory\n"
        "from axes.helpers import get_client_ip_address\n"
        "for peer in ('127.0.0.1', '198.51.100.7', '10.0.0.2'):\n"
        "    r = RequestFactory().get('/', HTTP_X_FORWARDED_FOR='203.0.113.9', REMOTE_ADDR=peer)\n"
        "    print(get_client_ip_address(r))\n"
    )
    answers = []
    for trusted in (None, "10.0.0.0/24"):
        env = _env(tmp_path, BEHIND_TLS_PROXY="1", DJANGO_SETTINGS_MODULE="console.settings")
        if trusted:
            env["FORWARDED_ALLOW_IPS"] = trusted
        result = subprocess.run(
            [sys.executable, "-c", probe],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        answers.append(result.stdout.split())
    assert answers == [
        ["203.0.113.9", "198.51.100.7", "10.0.0.2"],  # default: only this machine is a proxy
        ["127.0.0.1", "198.51.100.7", "203.0.113.9"],  # FORWARDED_ALLOW_IPS names the proxy
    ]


def test_without_debug_cookies_are_secure_and_sessions_are_bounded(tmp_path):
    probe = (
        "import django; django.setup()\n"
        "from django.conf import settings as s\n"
        "print(s.LANGUAGE_COOKIE_SECURE, s.SESSION_COOKIE_SECURE, s.SESSION_COOKIE_AGE,"
        " s.SESSION_IDLE_MINUTES)\n"
    )
    env = _env(tmp_path, DJANGO_SETTINGS_MODULE="console.settings", SESSION_IDLE_MINUTES="30")
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "43200", "30.0"]


def test_without_email_url_json_logs_get_each_mail_as_one_json_record(tmp_path):
    probe = (
        "import django; django.setup()\n"
        "from django.core.mail import send_mail\n"
        "send_mail('Change #1 Succeeded', 'Hello\\nline two', None, ['a@example.com'])\n"
    )
    env = {**os.environ, "DEBUG": "1", "LOG_FORMAT": "json", "EMAIL_URL": ""}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "console.settings", "CONSOLE_VAR_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line one JSON object
    [mail] = [r for r in records if r["logger"] == "console.mail"]
    assert "Change #1 Succeeded" in mail["message"]
    assert mail["mail_body"] == "Hello\nline two"
