"""SCP's request signing as its gateway checks it: headers, timestamp, key and HMAC signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from console.simulator.messages import ApiError, Request, Response, gateway_error

CLIENT_TYPE = "Openapi"
TIMESTAMP_TOLERANCE_MS = 5 * 60 * 1000


def signature_compute(
    *, secret_key: str, method: str, url: bytes, timestamp: str, access_key: str
) -> str:
    """base64(HMAC-SHA256(secret, METHOD + URL + TIMESTAMP + ACCESS_KEY + "Openapi")).

    Deliberately independent of the console's client: a signing bug there must fail here.
    `url` is bytes because it is compared exactly as it travelled on the wire.
    """
    message = method.encode("ascii") + url + (timestamp + access_key + CLIENT_TYPE).encode("utf-8")
    digest = hmac.new(secret_key.encode("utf-8"), message, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def authenticate(
    request: Request, *, credentials: Mapping[str, str], not_enabled: frozenset[str], now: float
) -> tuple[Response, str] | None:
    """None when the call is signed correctly by an enabled key, else the refusal."""
    access_key = request.header("Scp-Accesskey")
    signature = request.header("Scp-Signature")
    timestamp = request.header("Scp-Timestamp")
    if not (access_key and signature and timestamp):
        # SCP's gateway answers an unauthenticated call as if the path did not exist.
        return Response(404, gateway_error(404, request.path)), "missing auth headers"
    reason = _signing_fault(
        request,
        access_key=access_key,
        signature=signature,
        timestamp=timestamp,
        credentials=credentials,
        now=now,
    )
    if reason:
        # SCP's 401 for a signing fault, with the reason as detail and verdict.
        return ApiError(401, "HmacValidFail", reason, reason).response(), reason
    if access_key in not_enabled:
        detail = "rejected by gateway: data-flow is not enabled for this account in this region"
        return ApiError(401, "Unauthorized", detail, "").response(), "rejected by gateway"
    return None


def _signing_fault(
    request: Request,
    *,
    access_key: str,
    signature: str,
    timestamp: str,
    credentials: Mapping[str, str],
    now: float,
) -> str:
    """Why the signature headers do not prove the call ("" when they do)."""
    if request.header("Scp-ClientType") != CLIENT_TYPE:
        return "wrong client type"
    if not (timestamp.isascii() and timestamp.isdigit()):
        return "invalid timestamp"
    if abs(now * 1000 - int(timestamp)) > TIMESTAMP_TOLERANCE_MS:
        return "stale timestamp"
    secret_key = credentials.get(access_key)
    if secret_key is None:
        return "unknown access key"
    host = request.header("Host")
    if not host:
        return "missing host header"
    # http.server decoded the request line as latin-1: encoding it back gives the exact bytes.
    url = b"http://" + host.encode("latin-1") + request.target.encode("latin-1")
    expected = signature_compute(
        secret_key=secret_key,
        method=request.method,
        url=url,
        timestamp=timestamp,
        access_key=access_key,
    )
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("latin-1")):
        return "signature mismatch"
    return ""
