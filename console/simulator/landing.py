"""A simulator convenience, not SCP behaviour: stand-in pages behind its services' NiFi links.

A real SCP service's `web_url_nifi` and `web_url_registry` open the NiFi and NiFi Registry UIs.
When the simulator is given a public URL (`scp_simulator --public-url`, as `make run` does),
its links point at `/ui/<service id>/nifi/` and `/ui/<service id>/nifi-registry/` on the
simulator itself, which answer a small page saying what a real service would show there.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any
from urllib.parse import quote, unquote

from console.simulator.messages import Request, Response, gateway_error

# /ui/<id>/<component>/ with the id percent-encoded as in the link.
_PATH = re.compile(r"/ui/([^/]+)/(nifi|nifi-registry)/?")
_COMPONENTS = {"nifi": ("NiFi", "nifi"), "nifi-registry": ("NiFi Registry", "nifi_registry")}


def ui_links(public_url: str, service_id: str) -> tuple[str, str]:
    """The NiFi and Registry links of a service on a simulator reachable at `public_url`."""
    base = f"{public_url.rstrip('/')}/ui/{quote(service_id, safe='')}"
    return f"{base}/nifi/", f"{base}/nifi-registry/"


def landing_page(
    request: Request, services: dict[str, dict[str, Any]], *, console_url: str
) -> Response:
    """The stand-in page for `request`'s service and component; 404 for anything unknown.

    Shows the service's name, the component's version and replicas, never a password.
    """
    match = _PATH.fullmatch(request.path)
    service = services.get(unquote(match.group(1))) if match else None
    if request.method != "GET" or match is None or service is None:
        return Response(404, gateway_error(404, request.path))
    title, key = _COMPONENTS[match.group(2)]
    workload = service["config"]["service_workload"][key]
    name = escape(service["data_flow_service_name"])
    back = (
        f'<p><a href="{escape(console_url, quote=True)}">Back to the Data Flow Console</a></p>'
        if console_url
        else ""
    )
    page = (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)} of {name} (SCP simulator)</title></head>\n"
        f"<body><h1>{escape(title)} of {name}</h1>\n"
        f"<p>This is the SCP simulator's stand-in for {escape(title)} of service {name} "
        f"(version {escape(workload['version'])}, {_replicas(workload['replica'])}, "
        f"state {escape(service['state'])}): a real SCP service opens the {escape(title)} UI "
        "here.</p>\n"
        f"{back}</body></html>\n"
    )
    # Nothing but this text and its one link: no script, style or frame can run in it.
    headers = {
        "Cache-Control": "no-store",
        "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(200, page, headers)


def _replicas(count: str) -> str:
    """The replica count as the API gives it (a string), escaped: "1 replica", "3 replicas"."""
    return f"{escape(count)} replica" + ("" if count == "1" else "s")
