"""Widgets of our own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString


class PlainSelect(forms.Select):
    """A <select> made in Python, with the markup of Django's template-made one.

    Django renders each <option> through two templates (the option and its attributes): the
    filter bars' thirty options were a fifth of the service list's time.
    """

    def render(
        self, name: str, value: Any, attrs: dict | None = None, renderer: Any = None
    ) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group_name, group, _index in widget["optgroups"]:
            options = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((option["value"], _attrs(option["attrs"]), option["label"]) for option in group),
            )
            if group_name:
                options = format_html('<optgroup label="{}">{}</optgroup>', group_name, options)
            parts.append(options)
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            _attrs(widget["attrs"]),
            format_html_join("", "{}", ((part,) for part in parts)),
        )


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """Attributes in their order, as django/forms/widgets/attrs.html writes them: True is the
    name alone, False leaves the attribute out."""
    return format_html_join(
        "",
        "{}",
        (
            (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value),)
            for name, value in attrs.items()
            if value is not False
        ),
    )
