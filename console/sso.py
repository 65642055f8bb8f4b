"""Single sign-on with OpenID Connect: mozilla-django-oidc's code flow, the console's roles.

A person is found by the provider's issuer and subject (`SsoIdentity`), never by mail address,
so nobody at the identity provider can take over a local account. The first sign-in creates the
person with no usable password; every sign-in gives them exactly the roles their groups map to
(OIDC_ADMIN_GROUPS, OIDC_LEAD_GROUPS, OIDC_SUPPORT_GROUPS). Someone in none of those groups is
refused and loses any role they had. Why a sign-in was refused is kept in the session as a code;
the sign-in page says it in the reader's language.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from urllib.parse import urlencode

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.translation import gettext_lazy as _
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from console.dataflow.middleware import SIGNED_IN_AT
from console.dataflow.models import SsoIdentity
from console.dataflow.people.roles import ADMINS, SUPPORT, TEAM_LEADS, role_groups_ensure

logger = logging.getLogger(__name__)

BACKEND = "console.sso.SsoBackend"
REFUSED = "console_sso_refused"  # session key: why the last single sign-on failed, a code below

# What the sign-in page says for each refusal code.
REFUSALS = {
    "no_role": _(
        "Your identity provider account is in none of the groups that give a role in this "
        "console. Ask an administrator to add you to one."
    ),
    "inactive": _("Your console account is switched off. Ask an administrator."),
    "denied": _("The identity provider did not sign you in."),
    "unreachable": _("The identity provider could not be reached. Try again in a moment."),
    "invalid": _("The identity provider's answer could not be verified. Try again."),
}
REFUSED_UNKNOWN = _("Single sign-on did not sign you in. Try again.")


def refusal_text(code: str) -> str:
    """The sentence for a refusal code, in the active language."""
    return str(REFUSALS.get(code, REFUSED_UNKNOWN))


def groups_of(claims: dict) -> set[str]:
    """The provider's group names from the configured claim: a list, or one string.

    Keycloak may send full paths ("/dataflow/admins"): a leading slash is not part of the name.
    """
    raw = claims.get(settings.OIDC_GROUPS_CLAIM)
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return set()
    return {str(name).strip().lstrip("/") for name in raw if str(name).strip()}


def roles_for(groups: Iterable[str]) -> list[str]:
    """The console roles these provider groups map to, by the settings."""
    names = set(groups)
    mapping = {
        ADMINS: settings.OIDC_ADMIN_GROUPS,
        TEAM_LEADS: settings.OIDC_LEAD_GROUPS,
        SUPPORT: settings.OIDC_SUPPORT_GROUPS,
    }
    return [
        role
        for role, configured in mapping.items()
        if names & {name.strip().lstrip("/") for name in configured}
    ]


def roles_set(user: AbstractBaseUser, roles: list[str]) -> None:
    """Give the person exactly these of the three roles; other groups stay as they are."""
    role_groups = list(Group.objects.filter(name__in=[ADMINS, TEAM_LEADS, SUPPORT]))
    if len(role_groups) < 3:
        # A role group deleted by hand: made again (as the migration made it), not skipped.
        role_groups_ensure()
        role_groups = list(Group.objects.filter(name__in=[ADMINS, TEAM_LEADS, SUPPORT]))
    user.groups.remove(*[group for group in role_groups if group.name not in roles])
    user.groups.add(*[group for group in role_groups if group.name in roles])


def _username_free(base: str) -> str:
    """A username for a new person: the provider's, with a suffix if someone has it already."""
    model = get_user_model()
    base = (base or "sso-user")[:140]
    candidate, number = base, 1
    while model.objects.filter(username__iexact=candidate).exists():
        number += 1
        candidate = f"{base}-sso" if number == 2 else f"{base}-sso{number}"
    return candidate


class SsoBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, matching people by issuer and subject, mapping roles.

    Listed in AUTHENTICATION_BACKENDS always; it answers only the callback's authenticate()
    (the one with a nonce) and only while single sign-on is configured.
    """

    def __init__(self, *args, **kwargs) -> None:
        """The library's settings when single sign-on is on; nothing to read otherwise."""
        self.UserModel = get_user_model()
        if settings.SSO_ENABLED:
            super().__init__(*args, **kwargs)

    def authenticate(self, request: HttpRequest | None, **kwargs) -> AbstractBaseUser | None:
        """The code flow's sign-in; None for a password sign-in or with single sign-on off."""
        if not settings.SSO_ENABLED or request is None or "nonce" not in kwargs:
            return None
        return super().authenticate(request, **kwargs)

    def retrieve_matching_jwk(self, token: str) -> jwt.PyJWK:
        """The provider's signing key for this ID token, by its `kid`; a token without one
        (allowed when the provider publishes a single key) takes the one signing key."""
        answer = requests.get(self.OIDC_OP_JWKS_ENDPOINT, timeout=settings.OIDC_TIMEOUT)
        answer.raise_for_status()
        header = jwt.get_unverified_header(token)
        keys = [
            key
            for key in answer.json().get("keys", [])
            if isinstance(key, dict)
            and key.get("use", "sig") == "sig"
            and key.get("alg", header.get("alg")) == header.get("alg")
        ]
        if "kid" in header:
            keys = [key for key in keys if key.get("kid") == header["kid"]]
        if len(keys) != 1:
            raise SuspiciousOperation("No single signing key for the ID token in the JWKS.")
        return jwt.PyJWK(keys[0])

    def get_or_create_user(self, access_token: str, id_token: str, payload: dict):
        """The person for this provider account, created or updated; None when refused."""
        claims = self.get_userinfo(access_token, id_token, payload)
        subject = str(claims.get("sub") or "")
        # OpenID Connect Core 5.3.2: the userinfo's subject must be the ID token's.
        if not subject or subject != str(payload.get("sub") or ""):
            return self._refuse("invalid", subject=subject)
        issuer = str(payload.get("iss") or "")
        groups = sorted(groups_of(claims) or groups_of(payload))
        roles = roles_for(groups)
        identity = (
            SsoIdentity.objects.select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if not roles:
            _roles_lost(identity, groups)
            return self._refuse("no_role", subject=subject, groups=groups)
        with transaction.atomic():
            identity = identity or self._identity_new(claims, issuer=issuer, subject=subject)
            user = identity.user
            if not user.is_active:
                return self._refuse("inactive", subject=subject)
            _profile_update(user, claims)
            identity.groups = groups
            identity.last_seen_at = timezone.now()
            identity.save()
            roles_set(user, roles)
        logger.info("single sign-on", extra={"user": user.get_username(), "roles": ",".join(roles)})
        return user

    def _identity_new(self, claims: dict, *, issuer: str, subject: str) -> SsoIdentity:
        """A new person for a provider account seen for the first time (saved with its row)."""
        name = str(claims.get("preferred_username") or claims.get("email") or subject)
        user = self.UserModel.objects.create_user(
            _username_free(name), email=str(claims.get("email") or "")
        )  # no password: this person signs in through the provider only
        return SsoIdentity(user=user, issuer=issuer, subject=subject)

    def _refuse(self, code: str, **facts) -> None:
        """Remember why for the sign-in page, log it, and sign nobody in."""
        self.request.session[REFUSED] = code
        logger.warning("single sign-on refused: %s", code, extra=facts)
        return None


def _roles_lost(identity: SsoIdentity | None, groups: list[str]) -> None:
    """Roles follow the provider's groups: a known person who lost them loses their roles."""
    if identity is not None:
        roles_set(identity.user, [])
        identity.groups = groups
        identity.save(update_fields=["groups"])


def _profile_update(user, claims: dict) -> None:
    """Mail address and names as the provider says them now (kept where it says nothing)."""
    user.email = str(claims.get("email") or user.email)[:254]
    user.first_name = str(claims.get("given_name") or user.first_name)[:150]
    user.last_name = str(claims.get("family_name") or user.last_name)[:150]
    user.save(update_fields=["email", "first_name", "last_name"])


def _sso_required(view):
    """404 while single sign-on is off; reachable without signing in."""

    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not settings.SSO_ENABLED:
            raise Http404("Single sign-on is not configured.")
        return view(request, *args, **kwargs)

    return login_not_required(wrapped)


@method_decorator(_sso_required, name="dispatch")
class SsoStartView(OIDCAuthenticationRequestView):
    """Sends the browser to the identity provider (state, nonce and PKCE in the session)."""


@method_decorator(_sso_required, name="dispatch")
class SsoCallbackView(OIDCAuthenticationCallbackView):
    """The provider's answer: signs the person in, or back to the sign-in page with a reason."""

    def get(self, request: HttpRequest) -> HttpResponse:
        """The library's callback; a provider unreachable or unverifiable is a reason, not a 500."""
        try:
            response = super().get(request)
        except requests.RequestException as exc:
            logger.warning("single sign-on: identity provider unreachable: %s", type(exc).__name__)
            request.session[REFUSED] = "unreachable"
            return self.login_failure()
        except SuspiciousOperation as exc:
            logger.warning("single sign-on: answer refused: %s", exc)
            request.session[REFUSED] = "invalid"
            return self.login_failure()
        except (ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            # A token or document of a shape we cannot read: refused, never a 500.
            logger.warning("single sign-on: unreadable answer: %s", type(exc).__name__)
            request.session[REFUSED] = "invalid"
            return self.login_failure()
        if not request.user.is_authenticated and REFUSED not in request.session:
            request.session[REFUSED] = "denied" if request.GET.get("error") else "invalid"
        return response

    def login_success(self) -> HttpResponse:
        """Sign in, and start the session's clock as the password sign-in does."""
        response = super().login_success()
        self.request.session[SIGNED_IN_AT] = int(time.time())
        self.request.session.pop(REFUSED, None)
        return response


class SignOutView(auth_views.LogoutView):
    """Sign out; a person who came through the provider is sent on to end its session too.

    Without OIDC_OP_LOGOUT_ENDPOINT (or for a local account) this is Django's sign-out. With it,
    the browser goes to the provider's end_session_endpoint with the ID token as its hint and
    the sign-in page as where to come back (OpenID Connect RP-Initiated Logout 1.0), so the
    next "Sign in with …" asks who it is instead of signing the same person straight back in.
    """

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        id_token = request.session.get("oidc_id_token")
        response = super().post(request, *args, **kwargs)
        endpoint = settings.OIDC_OP_LOGOUT_ENDPOINT
        if not (settings.SSO_ENABLED and endpoint and id_token):
            return response
        query = urlencode(
            {
                "id_token_hint": id_token,
                "client_id": settings.OIDC_RP_CLIENT_ID,
                "post_logout_redirect_uri": request.build_absolute_uri(reverse("login")),
            }
        )
        return HttpResponseRedirect(f"{endpoint}?{query}")
