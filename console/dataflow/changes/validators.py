"""SCP's user-guide rules as Django validators, with messages that say what is allowed."""

from __future__ import annotations

import ipaddress
import re
import string

from django.core.exceptions import ValidationError
from django.utils.ipv6 import clean_ipv6_address
from django.utils.translation import gettext as _

DOMAIN_RE = re.compile(r"^[a-z0-9-]{3,50}$")
LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
SPECIALS = set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")

CPU_MIN, CPU_MAX = 100, 64_000  # millicores
MEMORY_MIN, MEMORY_MAX = 128, 262_144  # MiB
REPLICA_MIN, REPLICA_MAX = 1, 10
DESCRIPTION_MAX = 150
HOST_ALIASES_MAX = 20


def validate_account_id(value: str) -> None:
    """6 to 30 characters."""
    if not 6 <= len(value) <= 30:
        raise ValidationError(
            _("Use 6 to 30 characters; got %(n)d."), params={"n": len(value)}, code="length"
        )


def validate_account_password(value: str) -> None:
    """8 to 50 characters with upper case, lower case, digits and special characters."""
    if not 8 <= len(value) <= 50:
        raise ValidationError(_("Use 8 to 50 characters."), code="length")
    missing = [
        name
        for name, present in (
            # ASCII only, as SCP counts them: "Ä" or "٣" would pass here and fail in SCP.
            (_("an upper-case letter"), any(c in string.ascii_uppercase for c in value)),
            (_("a lower-case letter"), any(c in string.ascii_lowercase for c in value)),
            (_("a digit"), any(c in string.digits for c in value)),
            (_("a special character such as !@#$%"), any(c in SPECIALS for c in value)),
        )
        if not present
    ]
    if missing:
        raise ValidationError(
            _("The password needs %(missing)s."),
            params={"missing": ", ".join(missing)},
            code="classes",
        )


def validate_domain(value: str) -> None:
    """3 to 50 lower-case letters, digits and '-', neither starting nor ending with '-'."""
    if not DOMAIN_RE.match(value) or value.startswith("-") or value.endswith("-"):
        raise ValidationError(
            _(
                "Use 3 to 50 lower-case letters, digits and '-', not starting or ending with "
                "'-'; got '%(value)s'."
            ),
            params={"value": value},
            code="domain",
        )


def validate_hostname(value: str) -> None:
    """A lower-case RFC 1123 subdomain: no upper case, no wildcard, no trailing dot."""
    message = None
    if value != value.lower():
        message = _("Not a valid host name (use lower case only); got '%(value)s'.")
    elif "*" in value:
        message = _("Not a valid host name (wildcards are not allowed); got '%(value)s'.")
    elif value.endswith("."):
        message = _("Not a valid host name (remove the trailing dot); got '%(value)s'.")
    elif len(value) > 253:
        message = _("Not a valid host name (at most 253 characters); got '%(value)s'.")
    elif not all(LABEL_RE.match(label) for label in value.split(".")):
        message = _(
            "Not a valid host name (use lower-case letters, digits, '-' and '.', each part "
            "starting and ending with a letter or digit); got '%(value)s'."
        )
    if message:
        raise ValidationError(message, params={"value": value}, code="hostname")


def validate_node_selector(value: str) -> None:
    """A Kubernetes label selector of key=value pairs, comma-separated."""
    for pair in value.split(","):
        key, sep, label = pair.strip().partition("=")
        if (
            not sep
            or not key.strip()
            or not re.match(r"^[A-Za-z0-9][-A-Za-z0-9_./]*$", key.strip())
        ):
            raise ValidationError(
                _(
                    "Write the node label as key=value (several joined by commas), "
                    "e.g. 'nodepool=dataflow'; got '%(value)s'."
                ),
                params={"value": value},
                code="node_selector",
            )
        if label.strip() and not re.match(
            r"^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$", label.strip()
        ):
            raise ValidationError(
                _("The label value '%(label)s' may hold letters, digits, '-', '_' and '.'."),
                params={"label": label.strip()},
                code="node_selector",
            )


def validate_odd_replicas(value: int) -> None:
    """ZooKeeper needs an odd number of replicas for a quorum."""
    if value % 2 == 0:
        raise ValidationError(
            _("ZooKeeper needs an odd number of replicas for a quorum (1, 3, 5 …); got %(value)s."),
            params={"value": value},
            code="odd",
        )


def ip_normalize(value: str) -> str:
    """An IPv4 or IPv6 address as SCP should receive it; ValidationError for anything else.

    The one IP parser of both host alias forms, so that a pasted line and a form row agree:
    IPv6 in Django's form (`::ffff:10.0.0.1` stays dotted), zone ids refused.
    """
    text = value.strip()
    if "%" in text:
        # Kubernetes' IP validation has no zone ids; dropping one silently would change the host.
        raise ValidationError(
            _(
                "SCP and Kubernetes refuse zone ids such as %(zone)s; write the address without "
                "it (got '%(value)s')."
            ),
            params={"zone": text[text.index("%") :], "value": text},
            code="zone_id",
        )
    message = _("'%(value)s' is not an IPv4 or IPv6 address.")
    if ":" in text:
        try:
            return clean_ipv6_address(text, unpack_ipv4=False)
        except ValidationError:
            raise ValidationError(message, params={"value": text}, code="ip") from None
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        raise ValidationError(message, params={"value": text}, code="ip") from None
