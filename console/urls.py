"""URL map: sign-in (password, single sign-on, one-time password) and password pages,
/healthz, Django admin, the JSON API and the console's pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.templatetags.static import static
from django.urls import include, path

from console.accounts import LimitedPasswordChangeView, PasswordResetRequestView, SignInView
from console.dataflow.health import healthz
from console.sso import SignOutView, SsoCallbackView, SsoStartView
from console.twofactor import two_factor


def _only_with_mail(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The view, or 404 while no mail is configured (a reset mail could not go anywhere)."""

    @wraps(view)  # keeps Django's login_not_required mark
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.EMAIL_URL:
            raise Http404("Password reset needs mail: set EMAIL_URL.")
        return view(request, *args, **kwargs)

    return wrapped


account_urls = [
    path("login/", SignInView.as_view(), name="login"),
    path("logout/", SignOutView.as_view(), name="logout"),
    # Single sign-on (404 while OIDC_RP_CLIENT_ID is unset) and the one-time password page.
    path("sso/start/", SsoStartView.as_view(), name="sso-start"),
    path("sso/callback/", SsoCallbackView.as_view(), name="sso-callback"),
    path("two-factor/", two_factor, name="two-factor"),
    path("password_change/", LimitedPasswordChangeView.as_view(), name="password_change"),
    path(
        "password_change/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path(
        "password_reset/",
        _only_with_mail(PasswordResetRequestView.as_view()),
        name="password_reset",
    ),
    path(
        "password_reset/done/",
        _only_with_mail(auth_views.PasswordResetDoneView.as_view()),
        name="password_reset_done",
    ),
    path(
        "reset/<uidb64>/<token>/",
        _only_with_mail(auth_views.PasswordResetConfirmView.as_view()),
        name="password_reset_confirm",
    ),
    path(
        "reset/done/",
        _only_with_mail(auth_views.PasswordResetCompleteView.as_view()),
        name="password_reset_complete",
    ),
]


@login_not_required
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask /favicon.ico on every page: the console's icon, not a 404."""
    return HttpResponsePermanentRedirect(static("console/favicon.svg"))


urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("favicon.ico", favicon),
    path("accounts/", include(account_urls)),
    path("django-admin/", admin.site.urls),
    path("api/", include("console.dataflow.api.urls")),
    path("", include("console.dataflow.urls")),
]
