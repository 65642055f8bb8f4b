"""The wire under the SCP client: one requests.Session, signed requests, retries and pacing."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import requests

from console.outbound import address_check_mount
from console.scp.errors import (
    ScpAddressRefused,
    ScpBadResponse,
    ScpError,
    ScpThrottled,
    ScpUnavailable,
    error_from_response,
)
from console.scp.pacing import Pacer
from console.scp.redact import scrub
from console.scp.signing import signed_headers

logger = logging.getLogger("console.scp")

T = TypeVar("T")

# Without a pacer, a wait SCP asks for (Retry-After) is waited out within a call up to this
# long; a longer one is the caller's to schedule (the pipeline requeues, the sync goes on later).
_INLINE_WAIT_SECONDS = 10.0
# A throttled read is tried again after the pacer's wait; this many times at most in one call.
_THROTTLED_TRIES = 30


class ScpConnection:
    """One connection to one SCP region with one key pair; thread-unsafe like its Session."""

    def __init__(
        self,
        *,
        base_url: str,
        access_key: str,
        secret_key: str,
        api_version: str = "data-flow 1.1",
        language: str = "en-US",
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_seconds: float = 0.5,
        session: requests.Session | None = None,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        pacer: Pacer | None = None,
        address_check: Callable[[str], str | None] | None = None,
    ) -> None:
        """Check the settings; raises ValueError for a base URL that is not http(s).

        `address_check(url)` runs just before every request goes out, with the URL as prepared
        for the wire; a sentence it returns refuses the request (ScpAddressRefused).
        """
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if parts.query or parts.fragment:
            raise ValueError(f"base_url must not carry a query or fragment, got {base_url!r}")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.base_url = base_url.strip().rstrip("/")
        self.access_key = access_key
        self._secret = _Secret(secret_key)
        self.api_version = api_version
        self.language = language
        self.timeout = (connect_timeout, read_timeout)
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self._session = session if session is not None else _session_for(self.base_url)
        if address_check is not None:
            address_check_mount(self._session, address_check, refuse=ScpAddressRefused, label="SCP")
        self._clock = clock
        self._sleep = sleep
        # The shared request budget of this connection (None: unpaced, as in unit tests).
        self.pacer = pacer

    def close(self) -> None:
        """Close the underlying HTTP session and its pooled connections."""
        self._session.close()

    def limit(self, *, max_attempts: int, connect_timeout: float, read_timeout: float) -> None:
        """Fewer attempts and shorter timeouts, for a quick check that must not hang."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.timeout = (connect_timeout, read_timeout)

    def _call(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: dict[str, Any] | None = None,
        body: dict | None = None,
        by_id: bool,
        attempts: int | None = None,
        secrets: tuple[str, ...] = (),
        with_api_version: bool = True,
    ) -> T:
        """The parsed body of a 2xx answer, retrying transient failures with backoff.

        A throttled read (417 from SCP's edge, 429, or a Retry-After) is tried again once the
        pacer lets it go, without counting as a failed attempt; a PUT never is (the pipeline
        reads SCP before sending again). A wait longer than the caller affords is raised.
        """
        attempts = self.max_attempts if attempts is None else attempts
        attempt = throttled = 0
        while True:
            attempt += 1
            try:
                return self._attempt(
                    method,
                    path,
                    parse,
                    params=params,
                    body=body,
                    by_id=by_id,
                    attempt=attempt,
                    attempts=attempts,
                    secrets=secrets,
                    with_api_version=with_api_version,
                )
            except ScpThrottled as exc:
                throttled += 1
                if not self._throttled_again(exc, method, throttled):
                    raise
                attempt -= 1  # the pacer's wait is the backoff; a throttled try is no failure
            except ScpError as exc:
                if not self._failed_again(exc, attempt, attempts):
                    raise

    def _throttled_again(self, exc: ScpThrottled, method: str, throttled: int) -> bool:
        """Whether a throttled call goes again; without a pacer, sleeps SCP's wait first."""
        if exc.local or method == "PUT" or throttled >= _THROTTLED_TRIES:
            return False
        if self.pacer is not None:
            return True
        wait = exc.retry_after or self.backoff_seconds * 2 ** (throttled - 1)
        if wait > _INLINE_WAIT_SECONDS:
            return False
        self._sleep(wait)
        return True

    def _failed_again(self, exc: ScpError, attempt: int, attempts: int) -> bool:
        """Whether a failed call goes again (transient, attempts left); sleeps the backoff."""
        if exc.permanent or attempt >= attempts:
            return False
        wait = max(self.backoff_seconds * 2 ** (attempt - 1), exc.retry_after or 0.0)
        if wait > _INLINE_WAIT_SECONDS:
            return False
        self._sleep(wait)
        return True

    def _attempt(
        self,
        method: str,
        path: str,
        parse: Callable[[Any], T],
        *,
        params: dict[str, Any] | None,
        body: dict | None,
        by_id: bool,
        attempt: int,
        attempts: int,
        secrets: tuple[str, ...],
        with_api_version: bool = True,
    ) -> T:
        """One signed request; every attempt gets its own timestamp and signature."""
        prepared = self._signed_request(method, path, params, body, with_api_version)
        response = self._send(prepared, method, path, attempt=attempt, attempts=attempts)
        return self._answer(response, method, parse, by_id=by_id, secrets=secrets)

    def _signed_request(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: dict | None,
        with_api_version: bool,
    ) -> requests.PreparedRequest:
        """The request as it goes on the wire, signed over its exact prepared URL."""
        headers = {
            "Accept": "application/json",
            "Content-Type": "application/json",
            "Accept-Language": self.language,
            "Scp-Api-Version": self.api_version,
            "Scp-Request-Path": "openapi",
        }
        if not with_api_version:
            del headers["Scp-Api-Version"]
        request = requests.Request(
            method,
            self.base_url + path,
            # Encoded here so that ':' in `sort` and the rest read as in SCP's documentation;
            # requests then leaves the string as it is, and that string is what gets signed.
            params=urlencode(params, quote_via=quote, safe=":") if params else None,
            json=body,
            headers=headers,
        )
        prepared = self._session.prepare_request(request)
        prepared.headers.update(
            signed_headers(
                method,
                prepared.url or "",
                access_key=self.access_key,
                secret_key=self._secret.value,
                timestamp_ms=round(self._clock() * 1000),
            )
        )
        return prepared

    def _send(
        self,
        prepared: requests.PreparedRequest,
        method: str,
        path: str,
        *,
        attempt: int,
        attempts: int,
    ) -> requests.Response:
        """Send within the connection's budget and log it; no answer is ScpUnavailable."""
        settings = self._session.merge_environment_settings(
            prepared.url or "", {}, None, None, None
        )
        if self.pacer is not None:
            self.pacer.acquire()
        started = time.monotonic()
        try:
            response = self._session.send(
                prepared, timeout=self.timeout, allow_redirects=False, **settings
            )
        except requests.RequestException as exc:
            self._log(method, path, type(exc).__name__, started, attempt, attempts)
            raise ScpUnavailable(
                _transport_message(method, exc), cause=_transport_cause(method, exc)
            ) from None
        self._log(method, path, response.status_code, started, attempt, attempts)
        return response

    def _answer(
        self,
        response: requests.Response,
        method: str,
        parse: Callable[[Any], T],
        *,
        by_id: bool,
        secrets: tuple[str, ...],
    ) -> T:
        """The parsed body of a 2xx answer; the typed error of any other, told to the pacer."""
        text = scrub(response.text, (self._secret.value, *secrets))
        error = (
            None
            if 200 <= response.status_code < 300
            else error_from_response(
                response.status_code,
                text,
                by_id=by_id,
                method=method,
                retry_after=response.headers.get("Retry-After"),
                now=self._clock(),
            )
        )
        if self.pacer is not None:
            throttled = isinstance(error, ScpThrottled)
            self.pacer.report(
                throttled=throttled, retry_after=error.retry_after if throttled else None
            )
        if error is not None:
            raise error
        try:
            return parse(response.json())
        except (ValueError, ScpBadResponse) as exc:
            detail = exc.message if isinstance(exc, ScpBadResponse) else "the body is not JSON"
            raise ScpBadResponse(
                _bad_response_message(method, response.status_code),
                status=response.status_code,
                details=(detail,),
                raw_text=text,
                cause="unreadable",
            ) from None

    def _plain_get(self, path: str, parse: Callable[[Any], T]) -> T:
        """An unsigned GET without Scp-Api-Version, paced and retried as a signed read is."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return self._plain_attempt(path, parse, attempt=attempt)
            except ScpError as exc:
                if not self._plain_again(exc, attempt):
                    raise
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _plain_again(self, exc: ScpError, attempt: int) -> bool:
        """Whether a failed plain GET goes again; sleeps unless the pacer's acquire waits."""
        wait = max(self.backoff_seconds * 2 ** (attempt - 1), exc.retry_after or 0.0)
        throttled = isinstance(exc, ScpThrottled)
        if exc.permanent or (throttled and exc.local) or attempt >= self.max_attempts:
            return False
        if wait > _INLINE_WAIT_SECONDS:
            return False
        if self.pacer is None or not throttled:
            self._sleep(wait)  # with a pacer, its next acquire() is the wait
        return True

    def _plain_attempt(self, path: str, parse: Callable[[Any], T], *, attempt: int) -> T:
        """One unsigned GET of `path` within the connection's budget; typed errors as any call."""
        headers = {"Accept": "application/json", "Accept-Language": self.language}
        prepared = self._session.prepare_request(
            requests.Request("GET", self.base_url + path, headers=headers)
        )
        response = self._send(prepared, "GET", path, attempt=attempt, attempts=self.max_attempts)
        return self._answer(response, "GET", parse, by_id=False, secrets=())

    def _log(
        self, method: str, path: str, outcome: object, started: float, attempt: int, attempts: int
    ) -> None:
        elapsed_ms = round((time.monotonic() - started) * 1000)
        level = logging.INFO if isinstance(outcome, int) and outcome < 400 else logging.WARNING
        logger.log(
            level,
            "SCP %s %s -> %s in %d ms (attempt %d/%d)",
            method,
            path,
            outcome,
            elapsed_ms,
            attempt,
            attempts,
        )


def request_host(url: str) -> str | None:
    """The host `requests` connects to for `url` (read by its own parser), or None if none."""
    try:
        prepared = requests.Request("GET", url).prepare()
        return urlsplit(prepared.url or "").hostname
    except (requests.RequestException, ValueError, UnicodeError):
        return None


class _Secret:
    """Holds a secret so that no repr, vars() dump or debugger listing shows it."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "'***'"


def _bad_response_message(method: str, status: int) -> str:
    if method == "PUT":
        # The update was most likely accepted; repeating it blindly could apply it twice.
        return (
            f"SCP accepted the update (HTTP {status}) but its answer could not be read: "
            "read the service's current state before trying again."
        )
    return f"SCP answered HTTP {status} with a body the console cannot read: try again later."


def _transport_cause(method: str, exc: requests.RequestException) -> str:
    """The machine name of `_transport_message`'s case, for callers that word it themselves."""
    if isinstance(exc, requests.exceptions.SSLError):
        return "tls"
    if method == "PUT" and not isinstance(exc, requests.ConnectTimeout):
        return "no_answer"
    if isinstance(exc, requests.Timeout):
        return "timeout"
    return "unreachable"


def _transport_message(method: str, exc: requests.RequestException) -> str:
    """What to tell a person when no HTTP answer came back."""
    if isinstance(exc, requests.exceptions.SSLError):
        return (
            "SCP's TLS certificate could not be verified: check the connection's base URL and "
            "this server's certificate authorities."
        )
    if method == "PUT" and not isinstance(exc, requests.ConnectTimeout):
        # The request may have reached SCP before the connection failed or timed out.
        return (
            "SCP did not answer; the update may or may not have been applied: read the "
            "service's current state before trying again."
        )
    if isinstance(exc, requests.Timeout):
        return "SCP did not answer in time: try again in a few minutes."
    return (
        "Could not reach SCP: check the connection's base URL and this server's network "
        "access, then try again."
    )


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the environment's proxy (HTTPS_PROXY, NO_PROXY) and CA bundle
    (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE) once, as requests would on every call: it walked
    os.environ twice a call, a fifth of a call's CPU in a sync of many services."""
    session = requests.Session()
    session.proxies.update(requests.utils.get_environ_proxies(base_url))
    ca_bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if ca_bundle:
        session.verify = ca_bundle
    session.trust_env = False  # and no ~/.netrc: every call is signed
    return session
