"""SCP connections: `default` from the SCP_* variables, the others from the database."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from console.dataflow.connections.budget import ConnectionPacer
from console.dataflow.connections.endpoints import scp_send_problem, scp_url_problem
from console.dataflow.models import DEFAULT_CONNECTION, ScpConnection
from console.scp import Pacer, ScpClient

# How long one call may wait for the connection's request budget: a worker, a person's page.
WORKER_WAIT_SECONDS = 20.0
PAGE_WAIT_SECONDS = 3.0


class ConnectionUnavailable(Exception):
    """The named connection is not configured, is disabled, or points where it must not."""


def connection_names() -> list[str]:
    """Every usable connection: `default` when its keys are set, then the enabled rows."""
    names = [DEFAULT_CONNECTION] if settings.SCP_SECRET_KEY and settings.SCP_ACCESS_KEY else []
    rows = ScpConnection.objects.filter(enabled=True).exclude(name=DEFAULT_CONNECTION)
    return names + list(rows.values_list("name", flat=True))


def scp_client_for(
    name: str,
    *,
    language: str | None = None,
    pacer: Pacer | None = None,
    wait: float = WORKER_WAIT_SECONDS,
) -> ScpClient:
    """A client for the named connection, speaking `language` (default: the active one).

    Its calls are paced by the connection's shared request budget: `pacer`, or one that waits
    at most `wait` seconds per call for the budget before handing the wait back as
    ScpThrottled (a person's page waits seconds, a worker a little longer).
    The URL is checked here as well as in the admin form: rows written before the rule, or
    SCP_OPENAPI_URL, must not send a signed request to a metadata or plain-http address.
    """
    timeouts = {
        "connect_timeout": settings.SCP_CONNECT_TIMEOUT,
        "read_timeout": settings.SCP_READ_TIMEOUT,
        "pacer": pacer or ConnectionPacer(name, max_wait=wait),
        # Checked again as each request leaves: a name may resolve elsewhere by then.
        "address_check": scp_send_problem,
    }
    where = _default_endpoint() if name == DEFAULT_CONNECTION else _row_endpoint(name)
    if language is None:
        language = _active_language()
    return ScpClient(**where, language=language, **timeouts)


def _active_language() -> str:
    """The language SCP answers in: Korean when the active language is, else English."""
    return "ko-KR" if (translation.get_language() or "").startswith("ko") else "en-US"


def _default_endpoint() -> dict[str, str]:
    """Where `default` sends and the keys it signs with, from the SCP_* settings."""
    if not (settings.SCP_ACCESS_KEY and settings.SCP_SECRET_KEY):
        raise ConnectionUnavailable(
            _("The default SCP connection has no keys: set SCP_ACCESS_KEY and SCP_SECRET_KEY.")
        )
    problem = scp_url_problem(settings.SCP_OPENAPI_URL)
    if problem:
        raise ConnectionUnavailable(
            _("SCP_OPENAPI_URL cannot be used: %(problem)s") % {"problem": problem}
        )
    return {
        "base_url": settings.SCP_OPENAPI_URL,
        "access_key": settings.SCP_ACCESS_KEY,
        "secret_key": settings.SCP_SECRET_KEY,
        "api_version": settings.SCP_API_VERSION,
    }


def _row_endpoint(name: str) -> dict[str, str]:
    """Where the enabled connection `name` sends and the keys it signs with, from its row."""
    row = ScpConnection.objects.filter(name=name, enabled=True).first()
    if row is None:
        raise ConnectionUnavailable(
            _("The SCP connection '%(name)s' is missing or disabled.") % {"name": name}
        )
    problem = scp_url_problem(row.base_url)
    if problem:
        raise ConnectionUnavailable(
            _("The SCP connection '%(name)s' cannot be used: %(problem)s")
            % {"name": name, "problem": problem}
        )
    return {
        "base_url": row.base_url,
        "access_key": row.access_key,
        "secret_key": row.get_secret_key(),
        "api_version": row.api_version,
    }
