"""HTTP client of the SCP Data Flow OpenAPI: signed requests, typed answers, typed errors."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import requests

from console.outbound import address_check_mount
from console.scp.body import build_workloads_body
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
from console.scp.types import (
    ResourceCheck,
    ServiceDetail,
    ServiceSummary,
    SubVersions,
    Workloads,
    parse_resource_check,
    parse_service_detail,
    parse_service_page,
    parse_sub_versions,
)
from console.scp.versions import ApiVersion, parse_api_versions

logger = logging.getLogger("console.scp")

T = TypeVar("T")

SERVICES_PATH = "/v1/data-flow-services"

# A list longer than this many pages is a server bug, not a real account.
_MAX_PAGES = 1000
# Without a pacer, a wait SCP asks for (Retry-After) is waited out within a call up to this
# long; a longer one is the caller's to schedule (the pipeline requeues, the sync goes on later).
_INLINE_WAIT_SECONDS = 10.0
# A throttled read is tried again after the pacer's wait; this many times at most in one call.
_THROTTLED_TRIES = 30


class ScpClient:
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
        self._session = session if session is not None else requests.Session()
        if address_check is not None:
            address_check_mount(self._session, address_check, refuse=ScpAddressRefused, label="SCP")
        self._clock = clock
        self._sleep = sleep
        # The shared request budget of this connection (None: unpaced, as in unit tests).
        self.pacer = pacer

    def __repr__(self) -> str:
        """Base URL and access key; the secret key never appears."""
        return f"ScpClient(base_url={self.base_url!r}, access_key={self.access_key!r})"

    def close(self) -> None:
        """Close the underlying HTTP session and its pooled connections."""
        self._session.close()

    def limit(self, *, max_attempts: int, connect_timeout: float, read_timeout: float) -> None:
        """Fewer attempts and shorter timeouts, for a quick check that must not hang."""
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.max_attempts = max_attempts
        self.timeout = (connect_timeout, read_timeout)

    def api_versions(self) -> tuple[ApiVersion, ...]:
        """The API versions SCP lists at the endpoint's root, with their status and dates."""
        # API: GET {endpoint}/ (common guide, "API Versioning"): {"versions": [{"id", "status",
        # "not_before", ...}]}. Samsung's SDK reads it with a plain GET: no signature and no
        # Scp-Api-Version, so a configured version SCP no longer serves cannot hide the list.
        try:
            return _plain_get(self, "/", parse_api_versions)
        except ScpError as exc:
            if exc.status not in _SIGN_AND_RETRY_STATUSES:
                raise
        # Guess: a root that wants a signature after all refuses the plain GET with 401, 403 or
        # the gateway's 404 (its answer to unsigned calls); it is asked once more, signed.
        return self._call("GET", "/", parse_api_versions, by_id=False, with_api_version=False)

    def services_page(
        self, *, page: int = 0, size: int = 20, sort: str = "created_dt:desc"
    ) -> tuple[list[ServiceSummary], int | None]:
        """One page of the service list and its `total_count` (None when SCP left it out)."""
        # API: GET /v1/data-flow-services?page=&size=&sort= (list Data Flow services)
        return self._call(
            "GET",
            SERVICES_PATH,
            parse_service_page,
            params={"page": page, "size": size, "sort": sort},
            by_id=False,
        )

    def list_services(
        self, *, page_size: int = 20, sort: str = "created_dt:desc", **filters: str
    ) -> list[ServiceSummary]:
        """Every service matching the filters (state, data_flow_service_name, ...), all pages."""
        # API: GET /v1/data-flow-services?page=&size=&sort= (list Data Flow services)
        query = {key: value for key, value in filters.items() if value is not None}
        services: list[ServiceSummary] = []
        seen: set[str] = set()
        first_length = 0
        for page in range(_MAX_PAGES):
            items, total = self._call(
                "GET",
                SERVICES_PATH,
                parse_service_page,
                params={**query, "page": page, "size": page_size, "sort": sort},
                by_id=False,
            )
            # Some SCP list endpoints ignore `size`: the first page's length is the real page
            # size; an empty or short page, or the total, ends the list, and a page of nothing
            # new means the server is repeating itself.
            first_length = first_length or len(items)
            fresh = [item for item in items if not item.id or item.id not in seen]
            if not fresh:
                break
            services.extend(fresh)
            seen.update(item.id for item in fresh)
            if total is not None and len(services) >= total:
                break
            if total is None and len(items) < first_length:
                break
        return services

    def get_service(self, service_id: str) -> ServiceDetail:
        """The current detail of one service; an unknown id is SCP's 400 (ScpInvalidInput)."""
        # API: GET /v1/data-flow-services/{data_flow_service_id} (Data Flow service detail)
        return self._call("GET", _service_path(service_id), parse_service_detail, by_id=True)

    def update_service(self, service_id: str, body: dict) -> ServiceDetail:
        """Send one PUT (never repeated here: the caller decides) and parse the 202 answer."""
        # API: PUT /v1/data-flow-services/{data_flow_service_id} (update Data Flow service)
        return self._call(
            "PUT",
            _service_path(service_id),
            parse_service_detail,
            body=body,
            by_id=True,
            attempts=1,
            secrets=_body_secrets(body),
        )

    def validate_resources(self, service_id: str, workloads: Workloads) -> ResourceCheck:
        """Ask SCP whether the service's cluster has room for these workloads."""
        # API: POST /v1/data-flow-services/{data_flow_service_id}/validate-resources
        return self._call(
            "POST",
            f"{_service_path(service_id)}/validate-resources",
            parse_resource_check,
            body={"service_workload": build_workloads_body(workloads)},
            by_id=True,
        )

    def sub_versions(self, data_flow_id: str) -> SubVersions:
        """The component versions SCP offers for one Data Flow (product) id."""
        # API: GET /v1/data-flow-services/data-flows/{data_flow_id}/sub-versions
        return self._call(
            "GET",
            f"{SERVICES_PATH}/data-flows/{_quote_id(data_flow_id)}/sub-versions",
            parse_sub_versions,
            by_id=True,
        )

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
                if exc.local or method == "PUT" or throttled >= _THROTTLED_TRIES:
                    raise
                if self.pacer is None:
                    wait = exc.retry_after or self.backoff_seconds * 2 ** (throttled - 1)
                    if wait > _INLINE_WAIT_SECONDS:
                        raise
                    self._sleep(wait)
                attempt -= 1  # the pacer's wait is the backoff; a throttled try is no failure
            except ScpError as exc:
                if exc.permanent or attempt >= attempts:
                    raise
                wait = max(self.backoff_seconds * 2 ** (attempt - 1), exc.retry_after or 0.0)
                if wait > _INLINE_WAIT_SECONDS:
                    raise
                self._sleep(wait)

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
        url = prepared.url or ""
        prepared.headers.update(
            signed_headers(
                method,
                url,
                access_key=self.access_key,
                secret_key=self._secret.value,
                timestamp_ms=round(self._clock() * 1000),
            )
        )
        settings = self._session.merge_environment_settings(url, {}, None, None, None)
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


def _service_path(service_id: str) -> str:
    return f"{SERVICES_PATH}/{_quote_id(service_id)}"


def _quote_id(value: str) -> str:
    if not value or not str(value).strip():
        raise ValueError("an SCP id must not be empty")
    return quote(str(value), safe="")


def _body_secrets(body: dict) -> tuple[str, ...]:
    account = body.get("account") if isinstance(body, dict) else None
    if isinstance(account, dict) and isinstance(account.get("account_password"), str):
        return (account["account_password"],)
    return ()


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


# Answers to the plain GET of the version list after which it is asked again, signed.
_SIGN_AND_RETRY_STATUSES = (401, 403, 404)


def _plain_get(client: ScpClient, path: str, parse: Callable[[Any], T]) -> T:
    """An unsigned GET without Scp-Api-Version, paced and retried as a signed read is."""
    for attempt in range(1, client.max_attempts + 1):
        try:
            return _plain_attempt(client, path, parse, attempt=attempt)
        except ScpError as exc:
            wait = max(client.backoff_seconds * 2 ** (attempt - 1), exc.retry_after or 0.0)
            local = isinstance(exc, ScpThrottled) and exc.local
            if exc.permanent or local or attempt >= client.max_attempts:
                raise
            if wait > _INLINE_WAIT_SECONDS:
                raise
            if client.pacer is None or not isinstance(exc, ScpThrottled):
                client._sleep(wait)  # with a pacer, its next acquire() is the wait
    raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover


def _plain_attempt(client: ScpClient, path: str, parse: Callable[[Any], T], *, attempt: int) -> T:
    """One unsigned GET of `path` within the connection's budget; typed errors as for any call."""
    headers = {"Accept": "application/json", "Accept-Language": client.language}
    prepared = client._session.prepare_request(
        requests.Request("GET", client.base_url + path, headers=headers)
    )
    settings = client._session.merge_environment_settings(prepared.url, {}, None, None, None)
    if client.pacer is not None:
        client.pacer.acquire()
    started = time.monotonic()
    try:
        response = client._session.send(
            prepared, timeout=client.timeout, allow_redirects=False, **settings
        )
    except requests.RequestException as exc:
        client._log("GET", path, type(exc).__name__, started, attempt, client.max_attempts)
        raise ScpUnavailable(
            _transport_message("GET", exc), cause=_transport_cause("GET", exc)
        ) from None
    client._log("GET", path, response.status_code, started, attempt, client.max_attempts)
    text = scrub(response.text, (client._secret.value,))
    error = _plain_error(client, response, text)
    if client.pacer is not None:
        throttled = isinstance(error, ScpThrottled)
        wait = error.retry_after if isinstance(error, ScpThrottled) else None
        client.pacer.report(throttled=throttled, retry_after=wait)
    if error is not None:
        raise error
    try:
        return parse(response.json())
    except (ValueError, ScpBadResponse) as exc:
        detail = exc.message if isinstance(exc, ScpBadResponse) else "the body is not JSON"
        raise ScpBadResponse(
            _bad_response_message("GET", response.status_code),
            status=response.status_code,
            details=(detail,),
            raw_text=text,
            cause="unreadable",
        ) from None


def _plain_error(client: ScpClient, response: requests.Response, text: str) -> ScpError | None:
    """The typed error of a non-2xx answer to an unsigned GET; None for a 2xx."""
    if 200 <= response.status_code < 300:
        return None
    return error_from_response(
        response.status_code,
        text,
        by_id=False,
        method="GET",
        retry_after=response.headers.get("Retry-After"),
        now=client._clock(),
    )
