"""Request signing of the SCP OpenAPI: HMAC-SHA256 over method, wire URL, time and access key."""

from __future__ import annotations

import base64
import hashlib
import hmac

CLIENT_TYPE = "Openapi"


def string_to_sign(method: str, url: str, timestamp_ms: int | str, access_key: str) -> str:
    """The text SCP signs: METHOD + URL + TIMESTAMP + ACCESS_KEY + "Openapi", no separators."""
    return f"{method.upper()}{url}{timestamp_ms}{access_key}{CLIENT_TYPE}"


def sign(method: str, url: str, timestamp_ms: int | str, access_key: str, secret_key: str) -> str:
    """Base64 (standard alphabet, padded) of HMAC-SHA256 keyed by the secret over the string."""
    message = string_to_sign(method, url, timestamp_ms, access_key)
    digest = hmac.new(secret_key.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(
    method: str, url: str, *, access_key: str, secret_key: str, timestamp_ms: int | str
) -> dict[str, str]:
    """The four authentication headers of one request to `url` (the URL exactly as sent)."""
    return {
        "Scp-Accesskey": access_key,
        "Scp-Signature": sign(method, url, timestamp_ms, access_key, secret_key),
        "Scp-Timestamp": str(timestamp_ms),
        "Scp-ClientType": CLIENT_TYPE,
    }
