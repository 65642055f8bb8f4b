"""Outbound HTTP: one discipline for every call the console makes (SCP, webhooks).

A `requests` session whose transport asks a check about each request's URL as it leaves, after
`requests` prepared it for the wire: a URL the check refuses (a metadata or link-local address,
a host that now resolves to one) never connects anywhere. No Django here: the SCP client uses
it as it is, with the checks of `console.dataflow.connections.endpoints`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import requests

logger = logging.getLogger(__name__)

Check = Callable[[str], "str | None"]  # a sentence refusing the URL, or None to let it go


class _CheckedAdapter(requests.adapters.HTTPAdapter):
    """A transport that asks `check` about each request's URL before it connects anywhere."""

    def __init__(self, check: Check, refuse: Callable[[str], Exception], label: str) -> None:
        super().__init__()
        self._check = check
        self._refuse = refuse
        self._label = label

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        """The adapter's send, unless the check refuses the URL (then `refuse(problem)`)."""
        problem = self._check(request.url or "")
        if problem:
            logger.warning("%s %s refused before sending: %s", self._label, request.method, problem)
            raise self._refuse(problem)
        return super().send(request, *args, **kwargs)


def address_check_mount(
    session: requests.Session,
    check: Check,
    *,
    refuse: Callable[[str], Exception],
    label: str,
) -> requests.Session:
    """Route every http(s) request of `session` through the check; the session, for chaining."""
    adapter = _CheckedAdapter(check, refuse, label)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


class AddressRefused(Exception):
    """The check refused the URL: nothing was sent."""


# Anything else that kept a call from being answered (unreachable, timed out, TLS): callers
# catch it by this name, so that only this module speaks of the HTTP library.
NotAnswered = requests.RequestException


def checked_session(check: Check, *, label: str) -> requests.Session:
    """A new session whose every request asks `check` first (AddressRefused when it refuses)."""
    return address_check_mount(requests.Session(), check, refuse=AddressRefused, label=label)
