"""Client of the Samsung Cloud Platform Data Flow OpenAPI; plain Python, no Django."""

from __future__ import annotations

from console.scp.body import build_update_body, build_workloads_body
from console.scp.client import ScpClient
from console.scp.errors import (
    ScpAddressRefused,
    ScpBadCredentials,
    ScpBadResponse,
    ScpError,
    ScpForbidden,
    ScpInvalidInput,
    ScpNotEnabled,
    ScpNotFound,
    ScpThrottled,
    ScpUnavailable,
    ScpVersionNotSupported,
    error_from_response,
    parse_retry_after,
)
from console.scp.pacing import Pacer
from console.scp.redact import redact, redact_text
from console.scp.signing import sign, signed_headers, string_to_sign
from console.scp.types import (
    HostAlias,
    ResourceCheck,
    ServiceConfig,
    ServiceDetail,
    ServiceSummary,
    SubVersions,
    Workload,
    Workloads,
    parse_resource_check,
    parse_service_detail,
    parse_service_page,
    parse_service_summary,
    parse_sub_versions,
    parse_workloads,
)
from console.scp.versions import (
    ApiVersion,
    VersionStanding,
    header_value_for,
    parse_api_versions,
    version_standing,
)

__all__ = [
    "ApiVersion",
    "HostAlias",
    "Pacer",
    "ResourceCheck",
    "ScpAddressRefused",
    "ScpBadCredentials",
    "ScpBadResponse",
    "ScpClient",
    "ScpError",
    "ScpForbidden",
    "ScpInvalidInput",
    "ScpNotEnabled",
    "ScpNotFound",
    "ScpThrottled",
    "ScpUnavailable",
    "ScpVersionNotSupported",
    "ServiceConfig",
    "ServiceDetail",
    "ServiceSummary",
    "SubVersions",
    "VersionStanding",
    "Workload",
    "Workloads",
    "build_update_body",
    "build_workloads_body",
    "error_from_response",
    "header_value_for",
    "parse_api_versions",
    "parse_resource_check",
    "parse_retry_after",
    "parse_service_detail",
    "parse_service_page",
    "parse_service_summary",
    "parse_sub_versions",
    "parse_workloads",
    "redact",
    "redact_text",
    "sign",
    "signed_headers",
    "string_to_sign",
    "version_standing",
]
