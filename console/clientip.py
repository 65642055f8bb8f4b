"""The address a request came from, believing forwarded headers only from the trusted proxies.

Anyone who reaches gunicorn directly could write X-Forwarded-For. Only a request whose socket
peer (REMOTE_ADDR) is in `TRUSTED_PROXY_NETWORKS` (FORWARDED_ALLOW_IPS) has that header read,
right to left, skipping the trusted proxies themselves: the first address left is the client.
Sign-in throttling (django-axes, `AXES_CLIENT_IP_CALLABLE`) and the password reset limit count
by it.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
FORWARDED_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")


def _address(text: str) -> Address | None:
    """`text` as an IP address (an IPv4-mapped IPv6 one as IPv4), or None when it is not one."""
    try:
        address = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address | None) -> bool:
    """Whether `address` is one of the configured proxies."""
    if address is None:
        return False
    return any(address in network for network in settings.TRUSTED_PROXY_NETWORKS)


def from_trusted_proxy(request: HttpRequest) -> bool:
    """Whether the request came through a trusted proxy (BEHIND_TLS_PROXY and its peer)."""
    peer = _address(request.META.get("REMOTE_ADDR") or "")
    return settings.BEHIND_TLS_PROXY and _trusted(peer)


def client_address(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or what a trusted proxy appended to X-Forwarded-For."""
    remote = request.META.get("REMOTE_ADDR") or None
    if not from_trusted_proxy(request):
        return remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for entry in reversed([part for part in forwarded.split(",") if part.strip()]):
        address = _address(entry)
        if address is None:
            return remote  # written by a trusted proxy, yet no address: believe nothing left of it
        if not _trusted(address):
            return str(address)
    return remote


class ForwardedHeadersMiddleware:
    """Drop X-Forwarded-For and X-Forwarded-Proto unless a trusted proxy sent the request.

    First in the chain, so that SecurityMiddleware (X-Forwarded-Proto), django-axes and every
    other reader see only what a configured proxy wrote.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The response, the request stripped of forwarded headers no trusted proxy wrote."""
        if not from_trusted_proxy(request):
            for header in FORWARDED_HEADERS:
                request.META.pop(header, None)
        return self.get_response(request)
