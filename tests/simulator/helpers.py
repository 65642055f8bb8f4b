"""Test helpers: an SCP signer written from the API reference, and a caller that can break it."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Any

import requests

API_VERSION = "data-flow 1.0"


def sign(*, secret_key: str, method: str, url: str, timestamp: str, access_key: str) -> str:
    """base64(HMAC-SHA256(secret, METHOD + URL + TIMESTAMP + ACCESS_KEY + "Openapi"))."""
    message = f"{method}{url}{timestamp}{access_key}Openapi".encode()
    digest = hmac.new(secret_key.encode(), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def now_ms() -> str:
    """The current time as SCP's timestamp: epoch milliseconds."""
    return str(int(time.time() * 1000))


class Api:
    """Signs and sends /v1 calls to a simulator; keyword knobs break the signing on purpose."""

    def __init__(self, base_url: str, *, access_key: str, secret_key: str) -> None:
        """Talk to the simulator at `base_url` with these keys."""
        self.base_url = base_url
        self.access_key = access_key
        self.secret_key = secret_key
        self.session = requests.Session()

    def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: bytes | str | None = None,
        signed_url: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        timestamp: str | None = None,
        headers: Mapping[str, str | None] | None = None,
        timeout: float = 10,
    ) -> requests.Response:
        """Send one signed call, or one signed wrongly on purpose.

        `signed_url` signs another URL than the one sent; the key and timestamp arguments replace
        the caller's; `headers` overrides the SCP headers, None removing one.
        """
        prepared = requests.Request(
            method, self.base_url + path, params=params, json=json, data=data
        ).prepare()
        access_key = access_key or self.access_key
        timestamp = timestamp or now_ms()
        signature = sign(
            secret_key=secret_key or self.secret_key,
            method=method,
            url=signed_url if signed_url is not None else str(prepared.url),
            timestamp=timestamp,
            access_key=access_key,
        )
        scp_headers: dict[str, str | None] = {
            "Scp-Accesskey": access_key,
            "Scp-Signature": signature,
            "Scp-Timestamp": timestamp,
            "Scp-ClientType": "Openapi",
            "Scp-Api-Version": API_VERSION,
            "Accept": "application/json",
            "Accept-Language": "en-US",
        }
        scp_headers.update(headers or {})
        for name, value in scp_headers.items():
            if value is None:
                prepared.headers.pop(name, None)
            else:
                prepared.headers[name] = value
        return self.session.send(prepared, timeout=timeout)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        """A signed GET."""
        return self.call("GET", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        """A signed PUT."""
        return self.call("PUT", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        """A signed POST."""
        return self.call("POST", path, **kwargs)

    def wait_until_settled(self, service_id: str, *, timeout: float = 5) -> dict[str, Any]:
        """Poll the detail until the service leaves UPDATING; return that detail."""
        deadline = time.monotonic() + timeout
        while True:
            detail = self.get(f"/v1/data-flow-services/{service_id}").json()
            if detail["state"] != "UPDATING" or time.monotonic() > deadline:
                return detail
            time.sleep(0.1)


def error_of(response: requests.Response) -> dict[str, Any]:
    """The single error of SCP's service envelope, checked for the envelope's shape."""
    body = response.json()
    assert list(body) == ["errors"]
    (error,) = body["errors"]
    assert set(error) == {
        "code",
        "detail",
        "global_request_id",
        "links",
        "related_resources",
        "request_id",
        "response",
        "status",
        "title",
    }
    assert error["status"] == response.status_code
    assert error["title"] == error["code"]
    return error
