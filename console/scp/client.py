"""The SCP Data Flow OpenAPI's calls: one method per API page, typed answers, typed errors."""

from __future__ import annotations

from urllib.parse import quote

from console.scp.body import build_workloads_body
from console.scp.errors import ScpError
from console.scp.transport import ScpConnection
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

SERVICES_PATH = "/v1/data-flow-services"

# A list longer than this many pages is a server bug, not a real account.
_MAX_PAGES = 1000
# Answers to the plain GET of the version list after which it is asked again, signed.
_SIGN_AND_RETRY_STATUSES = (401, 403, 404)


class ScpClient(ScpConnection):
    """The Data Flow calls over one connection to one SCP region with one key pair."""

    def __repr__(self) -> str:
        """Base URL and access key; the secret key never appears."""
        return f"ScpClient(base_url={self.base_url!r}, access_key={self.access_key!r})"

    def api_versions(self) -> tuple[ApiVersion, ...]:
        """The API versions SCP lists at the endpoint's root, with their status and dates."""
        # API: GET {endpoint}/ (common guide, "API Versioning"): {"versions": [{"id", "status",
        # "not_before", ...}]}. Samsung's SDK reads it with a plain GET: no signature and no
        # Scp-Api-Version, so a configured version SCP no longer serves cannot hide the list.
        try:
            return self._plain_get("/", parse_api_versions)
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
            # Some SCP list endpoints ignore `size`: the first page's length is the real size.
            first_length = first_length or len(items)
            fresh = [item for item in items if not item.id or item.id not in seen]
            services.extend(fresh)
            seen.update(item.id for item in fresh)
            if _list_ends(items, fresh=fresh, total=total, count=len(services), first=first_length):
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


def _list_ends(
    items: list[ServiceSummary],
    *,
    fresh: list[ServiceSummary],
    total: int | None,
    count: int,
    first: int,
) -> bool:
    """Whether the list is complete after a page: the total, or an empty or short page.

    A page of nothing new means the server is repeating itself.
    """
    if not fresh:
        return True
    if total is not None:
        return count >= total
    return len(items) < first
