"""Per-request rules for signed-in people: their language, session limits, private pages."""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_cache_control

from console.dataflow.people.preferences import SESSION_KEY, language_of

# Session keys of SessionLimitsMiddleware: epoch seconds of the sign-in and the last request.
SIGNED_IN_AT = "console_signed_in_at"
LAST_SEEN = "console_last_seen"
LAST_SEEN_STEP_SECONDS = 60


class PreferredLanguageMiddleware:
    """Activate the language saved in the person's preference, and remember it in the cookie.

    The preference is read once per session (at sign-in) and kept in the session; the
    language switch updates both. Without a preference LocaleMiddleware's choice stands:
    the language cookie, else the browser's Accept-Language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = ""
        if request.user.is_authenticated:
            if SESSION_KEY not in request.session:
                request.session[SESSION_KEY] = language_of(request.user)
            language = request.session[SESSION_KEY]
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        response = self.get_response(request)
        if language and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != language:
            # Signing out keeps the page in the language the person chose.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                language,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=settings.LANGUAGE_COOKIE_SAMESITE,
            )
        return response


class SessionLimitsMiddleware:
    """Sign a person out after SESSION_IDLE_MINUTES without a request, or SESSION_MAX_HOURS.

    The times live in the session; `last_seen` is written at most once a minute, so pages that
    refresh every second do not write the session every second.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The response, after the session limits of a signed-in person are applied."""
        if request.user.is_authenticated:
            session_limits_apply(request)
        return self.get_response(request)


def session_limits_apply(request: HttpRequest) -> None:
    """Sign the person out when their session is idle or old; else note that they are here."""
    now = int(time.time())
    session = request.session
    started = session.setdefault(SIGNED_IN_AT, now)
    last_seen = session.get(LAST_SEEN, now)
    idle = now - last_seen > settings.SESSION_IDLE_MINUTES * 60
    if idle or now - started > settings.SESSION_MAX_HOURS * 3600:
        logout(request)  # LoginRequiredMiddleware then sends them to the sign-in page
    elif now - last_seen >= LAST_SEEN_STEP_SECONDS or LAST_SEEN not in session:
        session[LAST_SEEN] = now


class PrivatePagesMiddleware:
    """Every answer to a signed-in person (pages, fragments, CSV) says `private, no-store`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        """The response, marked `private, no-store` when a person is signed in."""
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            # Neither a shared proxy nor the browser's cache (nor its back button) keeps them.
            patch_cache_control(response, private=True, no_store=True)
        return response


class MethodNotAllowedPage:
    """A blank 405 (a GET on a POST-only address) becomes a page in the console's style, with
    its Allow header kept, as 403 and 404 are."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if response.status_code != 405 or response.content or request.headers.get("HX-Request"):
            return response
        page = render(request, "405.html", status=405)
        page["Allow"] = response.get("Allow", "")
        return page
