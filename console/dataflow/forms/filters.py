"""What the list pages' filter bars share: Bootstrap's classes on the widgets themselves, so a
bar is a row of plain fields rather than crispy's per-field templates (a fifth of a list's
time), and a field with a bad value marked for the eye and for screen readers."""

from __future__ import annotations

from django import forms


class FilterBar(forms.Form):
    """A form of optional filters read from the query string."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if not field.widget.is_hidden:
                kind = "form-select" if isinstance(field, forms.ChoiceField) else "form-control"
                field.widget.attrs["class"] = kind

    def full_clean(self) -> None:
        """Validate, then mark each field whose value is bad."""
        super().full_clean()
        for name in self.errors:
            field = self.fields.get(name)
            if field is not None and not field.widget.is_hidden:
                field.widget.attrs["class"] = field.widget.attrs.get("class", "") + " is-invalid"
                field.widget.attrs["aria-invalid"] = "true"
