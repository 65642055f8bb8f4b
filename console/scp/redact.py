"""Removal of secrets from SCP bodies and texts before they are kept, shown or logged."""

from __future__ import annotations

import json
import re
from typing import Any

MASK = "***"

_SECRET_WORDS = ("password", "secret")

# For texts that are not JSON (HTML pages, truncated bodies): `"x_password": "value"`,
# `password=value` and the like. The value stops at a quote, comma, ampersand, brace or space.
_SECRET_PAIR = re.compile(
    r"""(?P<key>["']?[\w.-]*(?:password|secret)[\w.-]*["']?\s*[:=]\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|[^\s,&}\]"']+)""",
    re.IGNORECASE,
)


def is_secret_key(key: object) -> bool:
    """True when a mapping key names a secret (contains "password" or "secret", any case)."""
    return isinstance(key, str) and any(word in key.lower() for word in _SECRET_WORDS)


def redact(obj: Any) -> Any:
    """A deep copy of a JSON-like value with every non-empty secret value replaced by "***"."""
    if isinstance(obj, dict):
        return {
            key: (MASK if is_secret_key(key) and _is_filled(value) else redact(value))
            for key, value in obj.items()
        }
    if isinstance(obj, (list, tuple)):
        return [redact(item) for item in obj]
    return obj


def redact_text(text: str) -> str:
    """The text with secrets masked: parsed and re-dumped when JSON, pattern-masked otherwise."""
    if not text:
        return ""
    try:
        parsed = json.loads(text)
    except ValueError:
        return _SECRET_PAIR.sub(_mask_pair, text)
    if isinstance(parsed, (dict, list)):
        return json.dumps(_mask_strings(redact(parsed)), ensure_ascii=False)
    return text


def scrub(text: str, secrets: tuple[str, ...]) -> str:
    """The text with every occurrence of the given secret values replaced by "***"."""
    for secret in secrets:
        # Very short values would mask ordinary words; SCP's rules make real ones 8+ long.
        if secret and len(secret) >= 4:
            text = text.replace(secret, MASK)
    return text


def _mask_strings(obj: Any) -> Any:
    """Pattern-mask the string values too: an error detail may quote a rejected password."""
    if isinstance(obj, dict):
        return {key: _mask_strings(value) for key, value in obj.items()}
    if isinstance(obj, list):
        return [_mask_strings(item) for item in obj]
    if isinstance(obj, str):
        return _SECRET_PAIR.sub(_mask_pair, obj)
    return obj


def _is_filled(value: Any) -> bool:
    return value not in (None, "", [], {})


def _mask_pair(match: re.Match[str]) -> str:
    value = match.group("value")
    if value in ('""', "''"):
        return match.group(0)
    quote = value[0] if value[0] in "\"'" else ""
    return f"{match.group('key')}{quote}{MASK}{quote}"
