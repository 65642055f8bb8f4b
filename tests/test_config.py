"""A malformed setting stops start-up with one clear line naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE"}}
    env.update({"DEBUG": "1", "SECRET_KEY": "x" * 50})
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check",))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("overrides", "variable"),
    [
        ({"DATABASE_URL": "nonsense"}, "DATABASE_URL"),
        ({"DEBUG": "maybe"}, "DEBUG"),
        ({"CELERY_BROKER_URL": "nonsense"}, "CELERY_BROKER_URL"),
        ({"DEBUG": "0", "SECRET_KEY": ""}, "SECRET_KEY"),
        (
            {"DEBUG": "0", "ALLOWED_HOSTS": "x", "CONSOLE_ENCRYPTION_KEYS": ""},
            "CONSOLE_ENCRYPTION_KEYS",
        ),
        ({"CONSOLE_ENCRYPTION_KEYS": "not-a-key"}, "CONSOLE_ENCRYPTION_KEYS"),
        ({"SCP_READ_TIMEOUT": "soon"}, "SCP_READ_TIMEOUT"),
        # Single sign-on half configured: every missing piece is named.
        ({"OIDC_RP_CLIENT_ID": "console"}, "OIDC_OP_TOKEN_ENDPOINT"),
        (
            {
                "OIDC_RP_CLIENT_ID": "console",
                "OIDC_RP_CLIENT_SECRET": "s",
                "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://id.example.com/auth",
                "OIDC_OP_TOKEN_ENDPOINT": "https://id.example.com/token",
                "OIDC_OP_USER_ENDPOINT": "https://id.example.com/userinfo",
                "OIDC_OP_JWKS_ENDPOINT": "https://id.example.com/certs",
            },
            "OIDC_ADMIN_GROUPS",
        ),
        ({"OIDC_OP_TOKEN_ENDPOINT": "https://a@id.example.com/token"}, "OIDC_OP_TOKEN_ENDPOINT"),
        ({"OIDC_OP_JWKS_ENDPOINT": "file:///etc/passwd"}, "OIDC_OP_JWKS_ENDPOINT"),
        ({"LOCAL_SIGNIN": "nobody"}, "LOCAL_SIGNIN"),
        ({"TWO_FACTOR_LOCAL": "perhaps"}, "TWO_FACTOR_LOCAL"),
        ({"API_RATE": "lots"}, "API_RATE"),
        ({"API_TOKEN_DAYS": "forever"}, "API_TOKEN_DAYS"),
        ({"API_TOKEN_DAYS": "0"}, "API_TOKEN_DAYS"),
    ],
)
def test_bad_setting_stops_start_up_with_one_line(overrides, variable):
    result = _manage(overrides)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Configuration error: ")
    assert variable in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_setting_stops_the_celery_worker_with_one_line():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "DEBUG": "1",
        "DATABASE_URL": "nonsense",
    }
    result = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "console", "worker", "--pool", "solo"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [result.stderr.strip()]
    assert "DATABASE_URL" in result.stderr


def test_postgres_url_is_understood(settings):
    import dj_database_url

    parsed = dj_database_url.parse("postgres://user@db.example:5432/console")
    assert parsed["ENGINE"] == "django.db.backends.postgresql"
    assert parsed["NAME"] == "console"


def test_good_defaults_pass_the_system_checks():
    result = _manage({})
    assert result.returncode == 0, result.stderr


def test_the_default_broker_needs_no_server_and_polls_at_least_every_200_ms(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CELERY_")}
    env.update(
        {
            "DEBUG": "1",
            "CONSOLE_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "console.settings",
        }
    )
    probe = (
        "from console.celery import app\n"
        "with app.connection_for_write() as c:\n"
        "    print(c.transport.driver_type, c.transport.polling_interval,"
        " c.transport_options['data_folder_in'])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    driver, interval, folder = result.stdout.split()
    assert driver == "filesystem"
    assert float(interval) <= 0.2
    assert folder.startswith(str(tmp_path))


@pytest.mark.django_db
def test_the_models_and_their_migrations_agree():
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
