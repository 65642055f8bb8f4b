"""The language a change is worked in: its author's, for SCP (Accept-Language) and for the
words still stored as text."""

from __future__ import annotations

from django.utils import translation

from console.dataflow.models import ChangeRequest


def scp_language() -> str:
    """Accept-Language for SCP: the language of the person confirming the change."""
    return "ko-KR" if (translation.get_language() or "").startswith("ko") else "en-US"


def change_language(language: str | None) -> str:
    """The console's language code (`en`, `ko`) for a change's SCP language (`en-US`, `ko-KR`)."""
    return "ko" if (language or "").lower().startswith("ko") else "en"


def change_speaking(change_id: int) -> translation.override:
    """Translation for the work on one change: the language its author worked in.

    Timeline events and errors are stored as facts (console.dataflow.words.events) and said to each
    reader; what is still worded when it happens (an attempt's detail line) is in this one.
    """
    language = ChangeRequest.objects.filter(pk=change_id).values_list("language", flat=True)
    return translation.override(change_language(language.first()))
