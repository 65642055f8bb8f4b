"""SCP errors in the reader's language: the SCP client speaks English and knows no Django.

Each sentence is stored as a template and its parameters (console.dataflow.words.events) and said
in the language of whoever reads it.

The sentence is chosen by the error's class, HTTP status and `cause`; SCP's own code, detail
and global_request_id follow verbatim, since SCP support and its documentation quote them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from console.dataflow.words.events import Said, said, said_join, said_text
from console.scp import (
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
)


def scp_error_said(exc: ScpError) -> Said:
    """One sentence for an SCP error, then SCP's code, detail and request id (verbatim)."""
    answer = ": ".join(part for part in (exc.code, exc.detail.rstrip(".")) if part)
    return said_join(
        scp_error_sentence_said(exc),
        said("SCP's answer: %(answer)s.", answer=answer) if answer else "",
        f"(global_request_id {exc.global_request_id})" if exc.global_request_id else "",
    )


def scp_error_text(exc: ScpError) -> str:
    """`scp_error_said` in the active language."""
    return said_text(scp_error_said(exc))


def scp_error_sentence(exc: ScpError) -> str:
    """`scp_error_sentence_said` in the active language."""
    return said_text(scp_error_sentence_said(exc))


def scp_error_sentence_said(exc: ScpError) -> Said | str:
    """What happened and what to do, without SCP's own words (shown beside it); a reason the
    console worded itself when it raised the error is kept as it was worded."""
    sentence = _cause_sentence(exc)
    if sentence is not None:
        return sentence
    for kind, sentence_of in _KIND_SENTENCES:
        if isinstance(exc, kind):
            return sentence_of(exc)
    return said("SCP refused the request.")


def _cause_sentence(exc: ScpError) -> Said | None:
    """The sentence for an error without an HTTP answer (or refused before sending); else None."""
    if exc.cause == "no_answer":
        return said(
            "SCP's answer to the update was lost: the update may or may not have been "
            "applied. Read the service's current state before trying again."
        )
    if exc.cause == "tls":
        return said(
            "SCP's TLS certificate could not be verified: check the connection's base URL and "
            "this server's certificate authorities."
        )
    if exc.cause == "timeout":
        return said("SCP did not answer in time: try again in a few minutes.")
    if isinstance(exc, ScpAddressRefused):
        # The reason was worded by the console's own check, in the reader's language.
        return said("The console did not send the request: %(reason)s", reason=exc.message)
    if exc.cause == "unreachable":
        return said(
            "Could not reach SCP: check the connection's base URL and this server's network "
            "access, then try again."
        )
    return None


def _bad_credentials_sentence(exc: ScpError) -> Said:
    return said(
        "SCP refused the request signature: check the access key and secret key of this "
        "connection, and that this server's clock is right."
    )


def _not_enabled_sentence(exc: ScpError) -> Said:
    return said(
        "SCP says Data Flow is not enabled for this account or region: enable it in the "
        "SCP console, or check the region of this connection's base URL."
    )


def _forbidden_sentence(exc: ScpError) -> Said:
    return said(
        "SCP denied access: the access key may lack the permission, or the service "
        "belongs to another project. Ask the SCP account administrator."
    )


def _not_found_sentence(exc: ScpError) -> Said:
    """A redirect (the base URL is wrong), or nothing at this address."""
    status = exc.status
    if status is not None and 300 <= status < 400:
        return said(
            "SCP answered with a redirect (HTTP %(status)s): the connection's base URL is "
            "probably wrong (check http versus https and the host name).",
            status=status,
        )
    return said(
        "SCP found nothing at this address: the service may have been deleted, or the "
        "connection's base URL is wrong."
    )


def _version_sentence(exc: ScpError) -> Said:
    return said(
        "SCP does not support the API version this connection asks for: change the "
        "connection's API version to one SCP lists (python manage.py check_scp names the "
        "CURRENT one)."
    )


def _invalid_input_sentence(exc: ScpError) -> Said:
    """Rejected values (400), or another 4xx refusal by its status."""
    status = exc.status
    if status is None or status == 400:
        return said("SCP rejected the values sent: correct them and try again.")
    return said(
        "SCP refused the request (HTTP %(status)s): correct it and try again.", status=status
    )


def _unavailable_sentence(exc: ScpError) -> Said | str:
    """SCP failing or out of reach; a reason the console worded itself is kept."""
    status = exc.status
    if status is not None and exc.code == "ContactAdminForAssistance":
        return said(
            "SCP failed to process the request (HTTP %(status)s): try again later; if it "
            "keeps failing, contact SCP support quoting the global request id.",
            status=status,
        )
    if status is not None:
        return said(
            "SCP is unavailable right now (HTTP %(status)s): try again in a few minutes.",
            status=status,
        )
    if exc.message != ScpUnavailable.default_message:
        return getattr(exc, "said", None) or exc.message  # worded by the console itself
    return said("SCP is unavailable right now: try again in a few minutes.")


def _bad_response_sentence(exc: ScpError) -> Said:
    """An unexpected status, or a 2xx whose body could not be read."""
    status = exc.status
    if status is not None and not 200 <= status < 300:
        return said(
            "SCP answered with an unexpected status (HTTP %(status)s): try again later.",
            status=status,
        )
    return said("SCP answered with a body the console cannot read: try again later.")


def _throttled_sentence(exc: ScpThrottled) -> Said | str:
    """Throttling in words: who refused, and that the console waits rather than fails."""
    if exc.local:
        return exc.message  # worded by the request budget, in the reader's language
    if exc.status == 417:
        return said(
            'SCP\'s edge firewall is throttling requests (HTTP 417, "Request Rejected"): the '
            "console slows down and tries again."
        )
    if exc.status == 429:
        return said(
            "SCP is throttling requests (HTTP 429): the console slows down and tries again."
        )
    return said(
        "SCP asked the console to wait (HTTP %(status)s with Retry-After): it waits and tries "
        "again.",
        status=exc.status,
    )


# The sentence of each kind of error, the first kind that fits; ScpThrottled comes before
# ScpUnavailable, whose subclass it is.
_KIND_SENTENCES: tuple[tuple[type[ScpError], Callable[[Any], Said | str]], ...] = (
    (ScpBadCredentials, _bad_credentials_sentence),
    (ScpNotEnabled, _not_enabled_sentence),
    (ScpForbidden, _forbidden_sentence),
    (ScpNotFound, _not_found_sentence),
    (ScpVersionNotSupported, _version_sentence),
    (ScpInvalidInput, _invalid_input_sentence),
    (ScpThrottled, _throttled_sentence),
    (ScpUnavailable, _unavailable_sentence),
    (ScpBadResponse, _bad_response_sentence),
)
