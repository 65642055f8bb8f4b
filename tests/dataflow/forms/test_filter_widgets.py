"""The filter bars' own widget and form: the same <select> Django's templates make, Bootstrap's
classes on every field, and a bad value marked."""

from __future__ import annotations

import re

from django import forms

from console.dataflow.forms.filters import FilterBar
from console.dataflow.forms.widgets import PlainSelect

CHOICES = [("", "Any"), ('x"<', "X & <b>"), ("y", "Y"), ("Group", [("g1", "G1"), ("g2", "G2")])]


class _Both(forms.Form):
    django = forms.ChoiceField(choices=CHOICES, required=False)
    ours = forms.ChoiceField(choices=CHOICES, required=False, widget=PlainSelect)


def _markup(bound: forms.BoundField, name: str) -> str:
    html = str(bound).replace(f'name="{name}"', 'name="f"').replace(f'id="id_{name}"', 'id="f"')
    return re.sub(r">\s+<", "><", html).strip()


def test_plain_select_makes_the_markup_of_djangos_template_select():
    for value in ("", "y", "g2", 'x"<'):
        form = _Both({"django": value, "ours": value})
        for name in ("django", "ours"):
            form.fields[name].widget.attrs.update({"class": "form-select", "required": True})
        assert _markup(form["ours"], "ours") == _markup(form["django"], "django")
    assert "&lt;b&gt;" in str(form["ours"]) and "<b>" not in str(form["ours"])


class _Filters(FilterBar):
    name = forms.CharField(required=False, max_length=3)
    kind = forms.ChoiceField(choices=[("", "Any"), ("a", "A")], required=False)
    page = forms.IntegerField(required=False, widget=forms.HiddenInput)


def test_a_filter_bar_styles_its_fields_and_marks_only_the_bad_ones():
    form = _Filters({"name": "toolong", "kind": "a", "page": "x"})
    assert not form.is_valid()
    assert form.fields["name"].widget.attrs == {
        "class": "form-control is-invalid",
        "aria-invalid": "true",
        "maxlength": "3",
    }
    assert form.fields["kind"].widget.attrs == {"class": "form-select"}
    assert "class" not in form.fields["page"].widget.attrs
    assert _Filters().fields["name"].widget.attrs["class"] == "form-control"  # per form
