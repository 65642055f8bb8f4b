"""A person's own pages: what they watch, the watch toggle, and their language."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import check_for_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.i18n import set_language

from console.dataflow.models import ChangeRequest
from console.dataflow.people.preferences import SESSION_KEY, language_of, language_set, watch_set
from console.dataflow.views.access import service_for_user
from console.dataflow.views.services import services_filtered


class WatchForm(forms.Form):
    """The toggle: watch (on) or stop watching (off)."""

    watching = forms.BooleanField(required=False)


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
    """The person's page: the services they watch (state, last change) and their language."""
    services = services_filtered({}).filter(watches__user=request.user)
    return render(
        request,
        "dataflow/me.html",
        {
            "services": services,
            "status_labels": dict(ChangeRequest.Status.choices),
            "saved_language": language_of(request.user),
            "languages": settings.LANGUAGES,
        },
    )


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
