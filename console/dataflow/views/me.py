"""A person's own pages: what they watch, the watch toggle, their language and API tokens."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import check_for_language, gettext_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from console.dataflow.models import ApiToken, ChangeRequest
from console.dataflow.people.preferences import SESSION_KEY, language_of, language_set, watch_set
from console.dataflow.people.tokens import token_create, token_revoke
from console.dataflow.views.access import service_for_user
from console.dataflow.views.services import services_filtered


class WatchForm(forms.Form):
    """The toggle: watch (on) or stop watching (off)."""

    watching = forms.BooleanField(required=False)


class TokenForm(forms.Form):
    """A new API token: a name to tell it apart, and how long it lives."""

    name = forms.CharField(
        label=gettext_lazy("Token name"),
        max_length=100,
        help_text=gettext_lazy("What uses it, e.g. the nightly export script."),
    )
    days = forms.IntegerField(
        label=gettext_lazy("Valid for (days)"),
        min_value=1,
        max_value=366,
        help_text=gettext_lazy("1-366 days; revoke it here at any time."),
    )


@require_POST
@permission_required("dataflow.view_service", raise_exception=True)
def service_watch(request: HttpRequest, pk: int) -> HttpResponse:
    """Start or stop watching a service; back to its page (or the toggle alone, for htmx)."""
    service = service_for_user(request, pk, "view_service")
    form = WatchForm(request.POST)
    if not form.is_valid():  # a BooleanField(required=False) always is; kept for the contract
        return HttpResponseBadRequest(_("Say whether to watch the service."))
    now = watch_set(user=request.user, service=service, watching=form.cleaned_data["watching"])
    if request.htmx:
        return render(
            request, "dataflow/partials/watch_toggle.html", {"service": service, "watching": now}
        )
    if now:
        messages.success(
            request,
            _("You are watching %(service)s: you will get an email when a change of it ends.")
            % {"service": service.name},
        )
    else:
        messages.info(request, _("You no longer watch %(service)s.") % {"service": service.name})
    return redirect(service)


@require_GET
def me(request: HttpRequest) -> HttpResponse:
    """The person's page: the services they watch (state, last change), language, API tokens."""
    return _me_page(request, TokenForm(initial={"days": settings.API_TOKEN_DAYS}))


def _me_page(
    request: HttpRequest, token_form: TokenForm, *, new_secret: str = "", status: int = 200
) -> HttpResponse:
    services = services_filtered({}).filter(watches__user=request.user)
    return render(
        request,
        "dataflow/me.html",
        {
            "services": services,
            "status_labels": dict(ChangeRequest.Status.choices),
            "saved_language": language_of(request.user),
            "languages": settings.LANGUAGES,
            "token_form": token_form,
            "tokens": ApiToken.objects.filter(user=request.user),
            "new_secret": new_secret,
        },
        status=status,
    )


@require_POST
def api_token_create(request: HttpRequest) -> HttpResponse:
    """Make an API token; its secret is on this answer only, never shown again."""
    form = TokenForm(request.POST)
    if not form.is_valid():
        return _me_page(request, form, status=400)
    made = token_create(
        user=request.user, name=form.cleaned_data["name"], days=form.cleaned_data["days"]
    )
    # Rendered, not redirected: the secret must not wait in the session for the next page.
    return _me_page(
        request, TokenForm(initial={"days": settings.API_TOKEN_DAYS}), new_secret=made.secret
    )


@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    """Revoke one of the person's own tokens; it stops working at once."""
    if token_revoke(user=request.user, token_id=pk):
        messages.success(request, _("The token is revoked; it no longer opens the API."))
    else:
        messages.info(request, _("That token is not yours, or was revoked already."))
    return redirect("dataflow:me")


@login_not_required
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """Django's `set_language` (cookie, redirect to `next`), also saved as the person's choice.

    An empty language means "follow my browser": the cookie goes and the preference is cleared.
    """
    language = request.POST.get("language", "")
    if language and not (language in dict(settings.LANGUAGES) and check_for_language(language)):
        return HttpResponseBadRequest(_("Choose one of the languages offered."))
    response = set_language(request)
    if not language:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
    if request.user.is_authenticated:
        request.session[SESSION_KEY] = language_set(user=request.user, language=language)
    return response
