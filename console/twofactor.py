"""One-time passwords for local accounts (django-otp's TOTP), where TWO_FACTOR_LOCAL is on.

After a password sign-in, nothing but this page, signing out and the language switch answers
until the person gives a code from their authenticator app; on their first sign-in the page
sets the app up (a QR code and the key), confirmed by a first code. Single sign-on sessions are
left to the identity provider's own second factor. Wrong codes slow down as django-otp
throttles them; `manage.py two_factor_reset USER` removes a lost app.
"""

from __future__ import annotations

from base64 import b32encode
from collections.abc import Callable

import segno
from django import forms
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice

# Pages an unverified local session may still reach.
OPEN_URL_NAMES = {"two-factor", "logout", "healthz", "dataflow:language"}
DEVICE_NAME = "Authenticator app"


def second_factor_due(request: HttpRequest) -> bool:
    """True while this session signed in with a password and gave no one-time password yet."""
    if not settings.TWO_FACTOR_LOCAL:
        return False
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return False
    from console.sso import BACKEND as SSO_BACKEND  # sso imports the models; keep this light

    if request.session.get(BACKEND_SESSION_KEY) == SSO_BACKEND:
        return False
    return not user.is_verified()


class TwoFactorRequiredMiddleware:
    """Sends an unverified local session to the one-time password page, whatever it asked for."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if second_factor_due(request) and not _open(request.path_info):
            target = f"{reverse('two-factor')}?next={request.get_full_path()}"
            if request.headers.get("HX-Request"):
                # htmx follows HX-Redirect with a full page load, not a fragment swap.
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return HttpResponseRedirect(target)
        return self.get_response(request)


def _open(path: str) -> bool:
    """Whether an unverified session may reach this path (static files never get here)."""
    try:
        match = resolve(path)
    except Resolver404:
        return False
    return match.view_name in OPEN_URL_NAMES


class CodeForm(forms.Form):
    """The six digits from the authenticator app."""

    code = forms.RegexField(
        label=_("Code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        max_length=12,
        error_messages={"invalid": _("Enter the six digits the app shows.")},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


def _next_url(request: HttpRequest) -> str:
    """Where to go once verified: the `next` the person came for, if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse(settings.LOGIN_REDIRECT_URL)


def two_factor(request: HttpRequest) -> HttpResponse:
    """Ask for the one-time password; on a first sign-in, set up the authenticator app."""
    if not second_factor_due(request):
        return HttpResponseRedirect(_next_url(request))
    device, setting_up = _device_for(request.user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and _code_accepted(form, device):
        if setting_up:
            device.confirmed = True
            device.save(update_fields=["confirmed"])
        otp_login(request, device)
        return HttpResponseRedirect(_next_url(request))
    context = {"form": form, "setting_up": setting_up, "next": _next_url(request)}
    if setting_up:
        context["qr_svg"] = mark_safe(  # noqa: S308 - drawn by segno from our own URL
            segno.make(device.config_url, error="m").svg_inline(scale=4, dark="#000", light="#fff")
        )
        context["key"] = " ".join(_chunks(b32encode(device.bin_key).decode().rstrip("="), 4))
    return render(request, "registration/two_factor.html", context)


def _device_for(user) -> tuple[TOTPDevice, bool]:
    """The person's confirmed authenticator, else the one being set up (and True)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("pk").first()
    if device is not None:
        return device, False
    # One pending key per person: reloading the page shows the same QR code.
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=DEVICE_NAME, confirmed=False)
    return device, True


def _code_accepted(form: CodeForm, device: TOTPDevice) -> bool:
    """True for the right code; otherwise the form says why (wrong, or too many tries)."""
    allowed, details = device.verify_is_allowed()
    if not allowed:
        form.add_error("code", _throttled_text(details))
        return False
    if device.verify_token(form.cleaned_data["code"].strip()):
        return True
    form.add_error(
        "code", _("That code is not right. Check the app's clock and try the next code.")
    )
    return False


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


def _throttled_text(details: dict | None) -> str:
    """Too many wrong codes: how long until the next try is checked."""
    from django.utils import timezone

    until = (details or {}).get("locked_until")
    seconds = max(1, round((until - timezone.now()).total_seconds())) if until else 1
    return ngettext(
        "Too many wrong codes: try again in %(seconds)d second.",
        "Too many wrong codes: try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}
