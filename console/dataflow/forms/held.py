"""The fields the service forms share: those that let the value SCP holds pass exactly as held,
whatever the rules say, and the hidden revision a form was opened on."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.changes import validators as v

GUIDE = "guide"  # which rules a held value is checked against (a key, not words)
KUBERNETES = "kubernetes"
_NOTHING: Any = object()


class HeldValueMixin:
    """A field that lets the value SCP holds pass exactly as held, whatever the rules say.

    The user guide's and Kubernetes' rules apply to what a person changes: services created by
    other tools may hold values the rules refuse, and a change of another field must not be
    blocked by them (nor rewrite them). `hold()` names the value; an unchanged post returns it.
    """

    held: Any = _NOTHING
    rules: str = GUIDE

    def hold(self, value: Any) -> None:
        """The value SCP holds for this field, in the configuration the form was opened on."""
        self.held = value
        # The browser must not refuse to send back what SCP holds (step, length, range).
        attrs = self.widget.attrs  # type: ignore[attr-defined]
        step = attrs.get("step")
        if isinstance(step, int) and isinstance(value, int) and value % step:
            attrs["step"] = "any"
        if self.held_warning():
            for attr in ("maxlength", "minlength", "min", "max", "pattern"):
                attrs.pop(attr, None)

    @property
    def holding(self) -> bool:
        """True when a held value was named."""
        return self.held is not _NOTHING

    def is_held(self, value: Any) -> bool:
        """True when the posted value is the held one (surrounding blanks aside)."""
        if self.held is _NOTHING:
            return False
        if isinstance(value, str) and isinstance(self.held, str):
            return value.strip() == self.held.strip()
        try:
            return self.to_python(value) == self.to_python(self.held)  # type: ignore[attr-defined]
        except (ValidationError, TypeError, ValueError):
            return False

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        return super().clean(value)  # type: ignore[misc]

    def held_warning(self) -> str:
        """What the rules say about the held value, as a warning; "" when they accept it."""
        if self.held is _NOTHING:
            return ""
        try:
            super().clean(self.held)  # type: ignore[misc]
        except ValidationError as exc:
            params = {"value": self.held, "problems": " ".join(exc.messages)}
            if self.rules == KUBERNETES:
                return (
                    _(
                        "SCP holds '%(value)s', which Kubernetes' rules would refuse; it is kept "
                        "as it is unless you change it. (%(problems)s)"
                    )
                    % params
                )
            return (
                _(
                    "SCP holds '%(value)s', which the user guide's rules would refuse; it is "
                    "kept as it is unless you change it. (%(problems)s)"
                )
                % params
            )
        return ""


class HeldCharField(HeldValueMixin, forms.CharField):
    """A text field whose held value passes unchanged."""


class HeldIntegerField(HeldValueMixin, forms.IntegerField):
    """A number field whose held value passes unchanged."""


class HeldChoiceField(HeldValueMixin, forms.ChoiceField):
    """A choice whose held value passes unchanged."""


class HeldRegexField(HeldValueMixin, forms.RegexField):
    """A patterned text field whose held value passes unchanged."""


class NodeSelectorField(HeldCharField):
    """Kubernetes node labels, key=value joined by commas; an edited value is tidied for SCP."""

    default_validators = [v.validate_node_selector]
    rules = KUBERNETES

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        cleaned = super().clean(value)
        # "nodepool = dataflow , zone=a" is what people type; SCP wants "nodepool=dataflow,zone=a".
        return ",".join(
            "=".join(part.strip() for part in pair.split("=", 1)) for pair in cleaned.split(",")
        )


class HostnameField(HeldCharField):
    """A host name Kubernetes accepts in /etc/hosts: a lower-case RFC 1123 subdomain."""

    default_validators = [v.validate_hostname]
    rules = KUBERNETES

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 253)
        super().__init__(**kwargs)


class IPField(HeldCharField):
    """An IPv4 or IPv6 address, read by the same parser as the hosts-file paste."""

    rules = KUBERNETES

    def clean(self, value: Any) -> Any:
        if self.is_held(value):
            return self.held
        cleaned = super().clean(value)
        return v.ip_normalize(cleaned) if cleaned else cleaned


class BaseRevisionField(forms.IntegerField):
    """The hidden revision of the configuration a form was opened on (stale-edit check)."""

    def __init__(self, **kwargs: Any) -> None:
        lost = gettext_lazy(
            "This form lost track of the configuration it was opened on; reload the page."
        )
        kwargs.setdefault("widget", forms.HiddenInput)
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault(
            "error_messages",
            {code: lost for code in ("required", "invalid", "min_value", "max_value")},
        )
        super().__init__(**kwargs)
