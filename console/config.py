"""Environment readers for settings.py that fail with one clear line naming the variable."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import os
import re
import sys
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import dj_email_url
from django.core.exceptions import ImproperlyConfigured

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ImproperlyConfigured):
    """A setting read from the environment is missing or malformed."""


def env_str(name: str, default: str) -> str:
    """The variable's value, or `default` when it is unset."""
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    """`1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, case-insensitively."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(f"{name} must be 1/0 or true/false, got {raw!r}.")


def env_float(name: str, default: float) -> float:
    """A number above 0 (every duration, rate and timeout of the settings)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}.") from None
    if value <= 0:
        raise ConfigError(f"{name} must be greater than 0, got {raw!r}.")
    return value


def env_int(name: str, default: int, *, low: int = 0, high: int | None = None) -> int:
    """A whole number from `low` (0 unless said) to `high` (no limit unless said)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None
    if value < low or (high is not None and value > high):
        within = f"{low} or more" if high is None else f"{low} to {high}"
        raise ConfigError(f"{name} must be {within}, got {raw!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    """A comma-separated list; blanks between commas are dropped."""
    raw = os.environ.get(name)
    if raw is None:
        return list(default)
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_networks(name: str, default: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Comma-separated addresses or networks (`10.0.0.2,10.1.0.0/24`); `*` stands for any."""
    raw = env_str(name, default)
    networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for entry in (item.strip() for item in raw.split(",")):
        if not entry:
            continue
        if entry == "*":
            networks += [ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")]
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ConfigError(
                f"{name} must be comma-separated addresses or networks "
                f"(e.g. 10.0.0.2,10.1.0.0/24), got {raw!r}."
            ) from None
    return networks


def env_public_url(name: str, default: str) -> str:
    """An http(s) address without query, fragment or credentials, without its trailing slash."""
    raw = env_str(name, default)
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        port = parts.port  # raises ValueError for a port that is not a number
    except ValueError:
        parts, port = None, None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.query
        or parts.fragment
        or parts.username
        or parts.password
    ):
        raise ConfigError(
            f"{name} must be the console's public address, like https://console.example.com "
            f"(http or https, no query or user:password), got {raw!r}."
        )
    del port
    return raw.rstrip("/")


def env_http_url(name: str) -> str:
    """An http(s) address as given (an identity provider's endpoint), or "" when unset."""
    raw = env_str(name, "")
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username
        or parts.password
        or "\\" in raw
    ):
        raise ConfigError(
            f"{name} must be an http or https address without user:password, got {raw!r}."
        )
    return raw


def env_webhook_url(name: str) -> str:
    """A webhook URL that the console may post to (see `endpoints.webhook_url_problem`)."""
    from console.dataflow.connections.endpoints import (
        scp_url_problem,  # no Django app registry needed
    )

    raw = env_str(name, "")
    if not raw:
        return ""
    try:
        parts = urlsplit(raw)
        credentials = bool(parts.username or parts.password)
    except ValueError:
        credentials = False
    problem = scp_url_problem(raw)
    if credentials:
        problem = "it must not carry a user name or password"
    if problem:
        raise ConfigError(f"{name} cannot be used: {problem}")
    return raw


def env_rate(name: str, default: str) -> str:
    """A request rate as Django REST framework reads it: "120/min", "5000/day"."""
    value = env_str(name, default)
    if not re.fullmatch(r"[1-9][0-9]*/(s|sec|m|min|h|hour|d|day)", value):
        raise ConfigError(f"{name} must read like 120/min or 5000/day, got {value!r}")
    return value


def env_mail_settings(email_url: str, log_format: str) -> dict[str, object]:
    """The mail settings (EMAIL_BACKEND, EMAIL_HOST, ...) that EMAIL_URL names.

    Mail is for password resets and notifications. Without EMAIL_URL the worker prints each
    mail, one JSON log record each with LOG_FORMAT=json as every other line.
    """
    if not email_url:
        backend = "console.maillog.EmailBackend" if log_format == "json" else None
        return {
            "EMAIL_BACKEND": backend or "django.core.mail.backends.console.EmailBackend",
            "EMAIL_TIMEOUT": 10,
        }
    try:
        parsed = dj_email_url.parse(email_url)
    except Exception:  # dj-email-url raises several kinds for a malformed URL
        parsed = {}
    if "EMAIL_BACKEND" not in parsed:
        raise ConfigError(
            "EMAIL_URL is not a mail URL; use smtp://user:pass@host:587/?tls=True, "
            "smtps://… or console://."
        )
    found = {key: value for key, value in parsed.items() if value not in (None, "")}
    return {**found, "EMAIL_TIMEOUT": parsed.get("EMAIL_TIMEOUT") or 10}


def env_encryption_keys(name: str, debug: bool, secret_key: str) -> list[str]:
    """Fernet keys for secrets at rest (SCP secret keys, NiFi passwords).

    The first encrypts and all decrypt, so a new key goes first and old ones stay until rows
    are re-encrypted. With DEBUG on and none given, one is derived from SECRET_KEY.
    """
    keys = env_list(name, [])
    if not keys:
        if not debug:
            raise ConfigError(
                f"{name} is required when DEBUG is off "
                "(generate one with: python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())')."
            )
        digest = hashlib.sha256(f"console-encryption:{secret_key}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    for key in keys:
        try:
            if len(base64.urlsafe_b64decode(key.encode())) != 32:
                raise ValueError
        except ValueError:
            raise ConfigError(
                f"{name} holds a value that is not a Fernet key (32 url-safe base64-encoded bytes)."
            ) from None
    return keys


def sso_settings_check(values: dict) -> None:
    """With single sign-on on, every endpoint it needs is set and some group gives a role."""
    needed = (
        "OIDC_RP_CLIENT_SECRET",
        "OIDC_OP_AUTHORIZATION_ENDPOINT",
        "OIDC_OP_TOKEN_ENDPOINT",
        "OIDC_OP_USER_ENDPOINT",
        "OIDC_OP_JWKS_ENDPOINT",
    )
    missing = [name for name in needed if not values.get(name)]
    if missing:
        raise ConfigError(f"Single sign-on (OIDC_RP_CLIENT_ID) also needs {', '.join(missing)}.")
    groups = ("OIDC_ADMIN_GROUPS", "OIDC_LEAD_GROUPS", "OIDC_SUPPORT_GROUPS")
    if not any(values.get(name) for name in groups):
        raise ConfigError(
            "Single sign-on needs at least one of OIDC_ADMIN_GROUPS, OIDC_LEAD_GROUPS and "
            "OIDC_SUPPORT_GROUPS: nobody could sign in without a role."
        )


def run_or_explain(main: Callable[[], T]) -> T:
    """Run an entry point; a configuration error ends it with one line on stderr, exit code 2."""
    try:
        return main()
    except ConfigError as exc:
        sys.stderr.write(f"Configuration error: {exc}\n")
        raise SystemExit(2) from None
