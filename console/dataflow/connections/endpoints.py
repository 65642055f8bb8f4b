"""Which URLs the console may send requests to: SCP OpenAPI endpoints and webhooks.

`https` only; plain `http` only to this machine (the simulator); never a link-local or cloud
metadata address, where a signed request could reach an instance's credentials.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from console.scp.transport import request_host


def _(message: str) -> str:
    """gettext once Django runs; the English text while the settings are still being read."""
    return gettext(message) if apps.ready else message


METADATA_HOSTS = {"metadata.google.internal", "metadata.goog", "metadata"}
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, Azure, GCP, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}
LOOPBACK_NAMES = {"localhost"}


def _literal_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address a literal host stands for, also in the short forms resolvers accept
    (`2852039166`, `0xa9.254.169.254`), or None for a name."""
    try:
        address = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        try:
            address = ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _ambiguity_problem(url: str) -> str | None:
    """Why `url` could name one host to this check and another to the HTTP library; or None.

    Libraries disagree on backslashes (`https://169.254.169.254\\@example.com`), on a
    user-info part and on spaces or other characters outside printable ASCII, so these are
    refused outright rather than interpreted.
    """
    if any(not 0x21 <= ord(char) <= 0x7E for char in url):
        return _(
            "%(url)s contains spaces, control or non-ASCII characters; write the host in its "
            "ASCII form (punycode) and percent-encode the rest."
        ) % {"url": repr(url)}
    if "\\" in url:
        return _(
            "%(url)s contains a backslash, which HTTP libraries read differently; remove it."
        ) % {"url": repr(url)}
    authority = url.partition("//")[2]
    for end in "/?#":
        authority = authority.partition(end)[0]
    if "@" in authority:
        return _(
            "%(url)s carries a user name or password (the part before '@'); write "
            "https://host[:port] without it."
        ) % {"url": repr(url)}
    return None


def _host_as_sent(url: str) -> str:
    """The host `requests` (which sends SCP calls) connects to for `url`, written as `_host_of`."""
    return (request_host(url) or "").rstrip(".").lower()


def _host_of(url: str) -> str:
    """The host of `url` as this module reads it: lower case, without a trailing dot."""
    return (urlsplit(url).hostname or "").rstrip(".").lower()


def scp_url_problem(url: str) -> str | None:
    """Why the console must not send signed requests to `url`, as a sentence; None if it may."""
    url = url.strip()
    problem = _ambiguity_problem(url)
    if problem:
        return problem
    try:
        parts = urlsplit(url)
        host = _host_of(url)
    except ValueError:
        return _("%(url)s is not a URL; use https://host[:port].") % {"url": repr(url)}
    scheme = parts.scheme.lower()
    return _scheme_problem(scheme, url) or _host_problem(url, host=host, scheme=scheme)


def _scheme_problem(scheme: str, url: str) -> str | None:
    """Why `scheme` (lower case) is not one the console sends to; None for http and https."""
    if scheme in {"http", "https"}:
        return None
    if not scheme:
        return _(
            "Use an https:// URL (got no scheme in %(url)s); SCP's OpenAPI is served over https."
        ) % {"url": repr(url)}
    return _(
        "Use an https:// URL (got %(scheme)s scheme in %(url)s); SCP's OpenAPI is served "
        "over https."
    ) % {"scheme": scheme, "url": repr(url)}


def _host_problem(url: str, *, host: str, scheme: str) -> str | None:
    """Why the host of an http(s) `url` must not be sent to; None if it may."""
    if not host:
        return _("%(url)s has no host; use https://host[:port].") % {"url": repr(url)}
    if _host_as_sent(url) != host:
        return _(
            "%(url)s is read as another host by the HTTP library that would send the request; "
            "write https://host[:port]."
        ) % {"url": repr(url)}
    return _address_problem(host, scheme=scheme)


def _address_problem(host: str, *, scheme: str) -> str | None:
    """Why `host` must not be sent to over `scheme`: metadata, link-local, or plain http away
    from this machine; None if it may."""
    address = _literal_address(host)
    if host in METADATA_HOSTS or address in METADATA_ADDRESSES:
        return _(
            "%(host)s is a cloud metadata address; the console never sends requests there."
        ) % {"host": host}
    if address is not None and address.is_link_local:
        return _("%(host)s is a link-local address; the console never sends requests there.") % {
            "host": host
        }
    loopback = host in LOOPBACK_NAMES or (address is not None and address.is_loopback)
    if scheme == "http" and not loopback:
        return _(
            "Use https:// for %(host)s; plain http:// is allowed only to this machine "
            "(127.0.0.1, ::1 or localhost, e.g. the SCP simulator)."
        ) % {"host": host}
    return None


def validate_scp_url(value: str) -> None:
    """Django validator for an SCP connection's base URL (see `scp_url_problem`)."""
    problem = scp_url_problem(value)
    if problem:
        raise ValidationError(problem, code="scp_url")


def webhook_url_problem(url: str) -> str | None:
    """Why the console must not post notifications to `url`, as a sentence; None if it may.

    The same rules as SCP endpoints (https, plain http only to this machine, never a metadata
    or link-local address), and no user:password part, which would end up in logs.
    """
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        has_credentials = bool(parts.username or parts.password)
    except ValueError:
        return _("This is not a URL; use https://host[:port]/path.")
    if scheme not in {"http", "https"}:
        return _("Use an https:// URL for a webhook (got %(scheme)s).") % {
            "scheme": f"{scheme}:" if scheme else _("no scheme")
        }
    if has_credentials:
        return _("A webhook URL must not carry a user name or password.")
    # Webhooks leave through `requests` as SCP calls do (console.outbound): the same rules,
    # the host as that library reads it included.
    return scp_url_problem(url)


def resolved_address_problem(url: str) -> str | None:
    """Why the host of `url` must not be reached once resolved (metadata, link-local); or None.

    Checked again just before sending: a name may resolve to an address the literal rules
    cannot see.
    """
    host = (urlsplit(url).hostname or "").rstrip(".")
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return None  # the send itself fails with a clear error
    for info in infos:
        address = _literal_address(str(info[4][0]))
        if address is not None and (address in METADATA_ADDRESSES or address.is_link_local):
            return _(
                "%(host)s resolves to %(address)s, where the console never sends requests."
            ) % {"host": host, "address": address}
    return None


def scp_send_problem(url: str) -> str | None:
    """Why a request to `url` must not leave right now, as a sentence; None if it may.

    Run by the SCP client just before each request goes out (see `ScpClient(address_check=)`):
    the URL rules again, on the URL as prepared for the wire, then the addresses its host
    resolves to at that moment.
    """
    return scp_url_problem(url) or resolved_address_problem(url)


def validate_webhook_url(value: str) -> None:
    """Django validator for a webhook URL (see `webhook_url_problem`)."""
    problem = webhook_url_problem(value)
    if problem:
        raise ValidationError(problem, code="webhook_url")
