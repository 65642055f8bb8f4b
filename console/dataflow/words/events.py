"""What happened, stored as facts and said in the reader's language.

A sentence for people (a timeline event, an error, an approval) is stored as its English
template, the msgid its translations are found by, with its parameters; never as text in the
language of whoever caused it. `said_text` says it in the language active when the page, mail
or CSV is made. Parameters are names, numbers, SCP's own words (never translated) or sentences
themselves. A row stored before this existed holds plain text, and is shown as it was stored.

`said` and `said_n` are gettext keywords of `make messages` (see the makemessages command), so
their templates land in the catalogues as `_()` strings do.
"""

from __future__ import annotations

import logging
from typing import Any

from django.utils import translation
from django.utils.translation import gettext, ngettext

logger = logging.getLogger(__name__)

Said = dict[str, Any]  # {"t": template, "p": params} (+ "pl", "n" for plurals) or {"join": [...]}


def said(template: str, /, **params: Any) -> Said:
    """A sentence: its English template and what fills it in."""
    return {"t": template, "p": params}


def said_n(singular: str, plural: str, count: str, /, **params: Any) -> Said:
    """A sentence with a plural form chosen by the parameter named `count`."""
    return {"t": singular, "pl": plural, "n": count, "p": params}


def said_join(*parts: Said | str, sep: str = " ") -> Said:
    """Sentences said one after the other."""
    return {"join": [part for part in parts if part], "sep": sep}


def is_said(value: Any) -> bool:
    return isinstance(value, dict) and ("t" in value or "join" in value)


def said_text(value: Any) -> str:
    """The sentence in the active language; plain text (an older row, SCP's words) as it is."""
    if not is_said(value):
        return "" if value is None else str(value)
    if "join" in value:
        return str(value.get("sep", " ")).join(said_text(part) for part in value["join"])
    params = {
        name: said_text(param) if is_said(param) else param
        for name, param in value.get("p", {}).items()
    }
    template = str(value["t"])
    return _filled(template, _translated(value, template, params), params)


def _translated(value: Said, template: str, params: dict[str, Any]) -> str:
    """The template in the active language, in the plural form its count asks for."""
    if "pl" in value:
        return ngettext(template, str(value["pl"]), int(params.get(value["n"]) or 0))
    return gettext(template) if template else ""


def _filled(template: str, text: str, params: dict[str, Any]) -> str:
    """The translated text with its parameters; the English template when they do not fit."""
    try:
        return text % params if params else text
    except (KeyError, TypeError, ValueError):
        # A translation that does not fit its parameters: the English template still does.
        logger.warning("translation of %r does not fit its parameters", template)
        try:
            return template % params
        except (KeyError, TypeError, ValueError):
            return template


def said_english(value: Any) -> str:
    """The sentence in English: for log lines and the plain-text column kept beside it."""
    with translation.override("en"):
        return said_text(value)
