"""Sign-in and password pages: Django's views with bounded input and limited attempts.

The sign-in form refuses a username longer than the model allows before anything is counted or
stored; a password reset is limited per client address and per mail address; a password change
stops checking the current password after a few wrong ones.
"""

from __future__ import annotations

import time
from datetime import timedelta

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm, PasswordChangeForm
from django.core.validators import MaxLengthValidator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.clientip import client_address
from console.dataflow.middleware import SIGNED_IN_AT
from console.dataflow.people.ratelimit import ratelimit_clear, ratelimit_count, ratelimit_spent
from console.sso import REFUSED, refusal_text

RESET_WINDOW = timedelta(hours=1)
RESET_REQUESTS = "password-reset-request"  # per client address
RESET_MAILS = "password-reset-mail"  # per mail address
CHANGE_FAILURES = "password-change-failure"  # per person


class SignInForm(AuthenticationForm):
    """Django's sign-in form; a username longer than the model's is a field error, not a 500.

    Django sets the field's max_length without its validator, so an overlong name reached
    authenticate() and django-axes, whose 255-character column refused it (PostgreSQL).
    """

    def __init__(self, request: HttpRequest | None = None, *args, **kwargs) -> None:
        """Django's form, plus the length validator its username field lacks."""
        super().__init__(request, *args, **kwargs)
        field = self.fields["username"]
        field.validators.append(MaxLengthValidator(field.max_length))

    def confirm_login_allowed(self, user) -> None:
        """Django's checks; with single sign-on and LOCAL_SIGNIN=superusers, the password form
        is the break-glass door for superusers only."""
        super().confirm_login_allowed(user)
        if settings.SSO_ENABLED and settings.LOCAL_SIGNIN == "superusers" and not user.is_superuser:
            raise forms.ValidationError(
                _("Sign in with single sign-on: the password form is for break-glass superusers."),
                code="local_signin_superusers",
            )


class AdminSignInForm(AdminAuthenticationForm, SignInForm):
    """Django admin's sign-in form with the same bound on the username."""


class SignInView(auth_views.LoginView):
    """Django's sign-in page; it offers a password reset only when mail is configured."""

    authentication_form = SignInForm

    def get_context_data(self, **kwargs) -> dict:
        """Django's context, and whether to offer the password reset link."""
        context = super().get_context_data(**kwargs)
        context["password_reset_enabled"] = bool(settings.EMAIL_URL)
        context["sso_enabled"] = settings.SSO_ENABLED
        context["sso_provider_name"] = settings.SSO_PROVIDER_NAME
        context["local_signin_superusers"] = settings.LOCAL_SIGNIN == "superusers"
        code = self.request.session.pop(REFUSED, "")
        context["sso_refusal"] = refusal_text(code) if code else ""
        return context

    def form_valid(self, form: SignInForm) -> HttpResponse:
        """Sign in, and start the session's clock (SESSION_MAX_HOURS counts from here)."""
        response = super().form_valid(form)
        self.request.session[SIGNED_IN_AT] = int(time.time())
        return response


class PasswordResetRequestView(auth_views.PasswordResetView):
    """Django's reset request, at most PASSWORD_RESET_REQUESTS_PER_HOUR per client address and
    PASSWORD_RESET_MAILS_PER_HOUR mails per mail address."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """429 once this client address has asked too often this hour; else Django's post."""
        address = client_address(request) or "unknown"
        limit = settings.PASSWORD_RESET_REQUESTS_PER_HOUR
        if ratelimit_spent(scope=RESET_REQUESTS, key=address, limit=limit, window=RESET_WINDOW):
            return render(request, "registration/password_reset_limited.html", status=429)
        ratelimit_count(scope=RESET_REQUESTS, key=address)
        return super().post(request, *args, **kwargs)

    def form_valid(self, form: forms.Form) -> HttpResponse:
        """Send the mail, unless this address had its share: the page reads the same either way."""
        email = form.cleaned_data["email"].strip().lower()
        limit = settings.PASSWORD_RESET_MAILS_PER_HOUR
        if ratelimit_spent(scope=RESET_MAILS, key=email, limit=limit, window=RESET_WINDOW):
            return HttpResponseRedirect(self.get_success_url())
        ratelimit_count(scope=RESET_MAILS, key=email)
        return super().form_valid(form)


class LimitedPasswordChangeForm(PasswordChangeForm):
    """Django's password change; after PASSWORD_CHANGE_FAILURE_LIMIT wrong current passwords,
    no password is checked for SIGNIN_LOCKOUT_MINUTES, not even the right one."""

    def clean_old_password(self) -> str:
        """Refuse while locked; count a wrong password; forget the count after a right one."""
        key = str(self.user.pk)
        limit = settings.PASSWORD_CHANGE_FAILURE_LIMIT
        window = settings.AXES_COOLOFF_TIME
        if ratelimit_spent(scope=CHANGE_FAILURES, key=key, limit=limit, window=window):
            minutes = max(1, round(window.total_seconds() / 60))
            raise forms.ValidationError(
                ngettext(
                    "Too many wrong passwords: the password cannot be changed for %(minutes)d "
                    "minute, even with the right one.",
                    "Too many wrong passwords: the password cannot be changed for %(minutes)d "
                    "minutes, even with the right one.",
                    minutes,
                )
                % {"minutes": minutes},
                code="password_change_limited",
            )
        try:
            old_password = super().clean_old_password()
        except forms.ValidationError:
            ratelimit_count(scope=CHANGE_FAILURES, key=key)
            raise
        ratelimit_clear(scope=CHANGE_FAILURES, key=key)
        return old_password


class LimitedPasswordChangeView(auth_views.PasswordChangeView):
    """Django's password change page with `LimitedPasswordChangeForm`."""

    form_class = LimitedPasswordChangeForm
