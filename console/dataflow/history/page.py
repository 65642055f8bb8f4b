"""One page of the history: 50 changes fetched as plain values, and what each row shows.

At a million changes the page's SQL takes 2-3 ms; what cost the most was the rest. Model
instances for 50 rows cost twice the query itself, and the template engine paid per tag for
the cells with choices in them (the diff, the decision, SCP's answer): a third of the page. So
the rows are fetched with values(), and those cells are made here, escaped, in the reader's
language. The row's markup stays in templates/dataflow/history.html.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_noop

from console.dataflow.inventory.service_rows import url_pattern
from console.dataflow.models import ChangeRequest
from console.dataflow.people.timezones import when_text
from console.dataflow.templatetags.console_tags import duration as duration_text
from console.dataflow.templatetags.console_tags import shown, status_colour

# "Page N of M" counts at most this many rows: at a million changes an exact COUNT takes longer
# than the rest of the page (60 ms on PostgreSQL), and a page that deep (an OFFSET of 10,000)
# is where the dates filter serves better anyway.
COUNT_CAP = 10_000
PER_PAGE = 50
DIFF_SHOWN = 4  # entries of "What changed" per row; "and N more" says the rest

# What a row of the page shows, and nothing else.
PAGE_FIELDS = (
    "pk",
    "service_id",
    "service__name",
    "author_name",
    "kind",
    "reason",
    "ticket",
    "diff",
    "status",
    "error",
    "scp_modified_at",
    "created_at",
    "accepted_at",
    "finished_at",
    "decision",
    "decided_by_name",
    "decided_at",
    "decision_comment",
)


class CappedPaginator(Paginator):
    """A Paginator that counts no further than COUNT_CAP rows; `capped` says it stopped."""

    @cached_property
    def count(self) -> int:
        """The number of rows, or COUNT_CAP when there are more (one LIMITed COUNT)."""
        found = self.counted.order_by()[: COUNT_CAP + 1].count()
        self.capped = found > COUNT_CAP
        return min(found, COUNT_CAP)

    capped = False

    def __init__(self, object_list: QuerySet, per_page: int, *, counted: QuerySet) -> None:
        """`counted`: the rows as filtered, without the columns of `object_list`. Their join
        to the service (for its name) would be made for every counted row: 40 ms for a status
        filter at a million changes, against 2 ms for the keys alone."""
        super().__init__(object_list, per_page)
        self.counted = counted

    def page(self, number: Any) -> Page:
        """Page `number`; past the first, its rows are found by key first: the OFFSET walks the
        newest-first index alone instead of reading every skipped row (page 200: 10,000)."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = self.object_list[bottom : bottom + self.per_page]
        if bottom:
            keys = list(
                self.object_list.values_list("pk", flat=True)[bottom : bottom + self.per_page]
            )
            rows = self.object_list.filter(pk__in=keys)
        return self._get_page(rows, number, self)


def history_page_values(rows: QuerySet[ChangeRequest], *, number: Any) -> Page:
    """One page of 50 changes as dicts of PAGE_FIELDS; any page number gives a page (out of
    range: the last). Pages go back COUNT_CAP changes at most (the paginator's `capped`)."""
    page = CappedPaginator(rows.values(*PAGE_FIELDS), PER_PAGE, counted=rows).get_page(number)
    page.object_list = list(page.object_list)
    return page


def history_page(rows: QuerySet[ChangeRequest], *, number: Any) -> Page:
    """One page of the history, each change as the HistoryRow its <tr> shows."""
    page = history_page_values(rows, number=number)
    words = _PageWords()
    page.object_list = [words.row(values) for values in page.object_list]
    return page


# The template's sentences, now said here; gettext_noop marks them for makemessages.
_AND_MORE = gettext_noop("and %(more)s more")
_SECRET_CHANGED = gettext_noop("%(label)s: changed")
_ALIAS_ADDED = gettext_noop('host alias <span class="mono">%(label)s</span> added')
_ALIAS_REMOVED = gettext_noop('host alias <span class="mono">%(label)s</span> removed')
_ALIAS_CHANGED = gettext_noop('host alias <span class="mono">%(label)s</span> changed')
_APPROVED_BY = gettext_noop("approved by %(name)s %(when)s")
_REJECTED_BY = gettext_noop("rejected by %(name)s %(when)s")
_MODIFIED_WHEN = gettext_noop("modified %(when)s")
_ACCEPTED = gettext_noop("202 Accepted")


@dataclass(frozen=True)
class HistoryRow:
    """What one row of the history table shows: text is escaped by the template, the cells
    with markup are SafeStrings whose every value was escaped here."""

    pk: int
    status: str
    url: str
    service_id: int
    service_url: str
    service_name: str
    when: str
    author: SafeString
    kind: str
    kind_text: str
    reason: str
    ticket: SafeString
    changed: SafeString
    status_cell: SafeString
    scp: SafeString
    took: str


def _esc(value: Any) -> str:
    """A value as HTML text (the stdlib's escape: Django's does the same, with more calls)."""
    return html.escape(str(value))


def _cut(text: str, length: int) -> str:
    """Truncatechars: most texts fit, and Truncator is costly per call."""
    return text if len(text) <= length else Truncator(text).chars(length)


class _PageWords:
    """What is the same for every row of a page: the choices' labels, the URL patterns and the
    sentences in the reader's language, each translated once."""

    def __init__(self) -> None:
        self.statuses = dict(ChangeRequest.Status.choices)
        self.kinds = dict(ChangeRequest.Kind.choices)
        self.change_url = url_pattern("dataflow:change-detail")
        self.service_url = url_pattern("dataflow:service-detail")
        self._said: dict[str, str] = {}

    def said(self, msgid: str) -> str:
        """gettext, once a page per msgid ("" stays "": gettext("") is the catalogue's header)."""
        if msgid not in self._said:
            self._said[msgid] = gettext(msgid) if msgid else ""
        return self._said[msgid]

    def words(self, msgid: str, **values: Any) -> str:
        """A translated sentence whose own markup is trusted and whose values are escaped, as
        {% blocktranslate %} does: the catalogue's msgids are the template's."""
        return self.said(msgid) % {key: _esc(value) for key, value in values.items()}

    def row(self, values: dict[str, Any]) -> HistoryRow:
        """The row of one change's values."""
        outside = values["kind"] == ChangeRequest.Kind.OUTSIDE
        took = None
        if not outside and values["finished_at"]:
            took = values["finished_at"] - values["created_at"]
        author = _esc(values["author_name"])
        ticket = values["ticket"]
        return HistoryRow(
            pk=values["pk"],
            status=values["status"],
            url=self.change_url.format(values["pk"]),
            service_id=values["service_id"],
            service_url=self.service_url.format(values["service_id"]),
            service_name=values["service__name"],
            when=when_text(values["created_at"]),
            author=mark_safe(  # noqa: S308 - the name is escaped
                f'<i class="bi bi-box-arrow-in-down-right" aria-hidden="true"></i> {author}'
                if outside
                else author
            ),
            kind=values["kind"],
            kind_text=self.kinds.get(values["kind"], values["kind"]),
            reason=_cut(values["reason"], 80),
            ticket=mark_safe(  # noqa: S308 - the ticket is escaped
                f'<span class="badge text-bg-light">{_esc(ticket)}</span>' if ticket else "—"
            ),
            changed=mark_safe(self._changed_cell(values["diff"] or [])),  # noqa: S308
            status_cell=mark_safe(self._status_cell(values)),  # noqa: S308
            scp=mark_safe(self._scp_cell(values, outside=outside)),  # noqa: S308
            took=duration_text(took) if took else "—",
        )

    # The cells below return HTML in which every value has been through _esc.

    def _changed_cell(self, diff: list[dict[str, Any]]) -> str:
        """The first DIFF_SHOWN entries of the change's diff, one line each, and how many more."""
        lines = "".join(f"<div>{self._diff_line(entry)}</div>" for entry in diff[:DIFF_SHOWN])
        more = len(diff) - DIFF_SHOWN
        if more > 0:
            more_said = self.words(_AND_MORE, more=more)
            lines += f'<div class="text-body-secondary">{more_said}</div>'
        return lines

    def _diff_line(self, entry: dict[str, Any]) -> str:
        """One entry: a secret only "changed", a host alias by its name, else before → after."""
        label = self.said(str(entry.get("label") or ""))
        if entry.get("secret"):
            return self.words(_SECRET_CHANGED, label=label)
        if entry.get("section") == "Host aliases":
            kind = entry.get("kind")
            if kind == "added":
                return self.words(_ALIAS_ADDED, label=label)
            if kind == "removed":
                return self.words(_ALIAS_REMOVED, label=label)
            return self.words(_ALIAS_CHANGED, label=label)
        before, after = _esc(shown(entry, "before")), _esc(shown(entry, "after"))
        return f'{_esc(label)}: <span class="mono">{before} → {after}</span>'

    def _status_cell(self, values: dict[str, Any]) -> str:
        """The status badge, and under it who approved or rejected the change, when and why."""
        status = values["status"]
        shown_status = _esc(self.statuses.get(status, status))
        badge = f'<span class="badge text-bg-{status_colour(status)}">{shown_status}</span>'
        decision = values["decision"]
        if not decision:
            return badge
        name, when = values["decided_by_name"], when_text(values["decided_at"])
        if decision == "approved":
            said = self.words(_APPROVED_BY, name=name, when=when)
        elif decision == "rejected":
            said = self.words(_REJECTED_BY, name=name, when=when)
        else:
            said = f"{_esc(decision)} {_esc(name)} {_esc(when)}"
        if values["decision_comment"]:
            said += f": {_esc(_cut(values['decision_comment'], 60))}"
        return (
            f'{badge}<div class="small text-body-secondary" data-testid="history-decision">'
            f"{said}</div>"
        )

    def _scp_cell(self, values: dict[str, Any], *, outside: bool) -> str:
        """What SCP answered: its error code (and request id), when it was modified (a change
        made outside), or that it accepted the PUT."""
        error = values["error"] if isinstance(values["error"], dict) else {}
        if error.get("code"):
            cell = f'<span class="mono">{_esc(error["code"])}</span>'
            if error.get("global_request_id"):
                request_id = _esc(error["global_request_id"])
                cell += f'<div class="mono text-body-secondary">{request_id}</div>'
            return cell
        if outside:
            if values["scp_modified_at"]:
                return self.words(_MODIFIED_WHEN, when=when_text(values["scp_modified_at"]))
            return "—"
        if values["accepted_at"]:
            return _esc(self.said(_ACCEPTED))
        return "—"
