"""A real OpenID Connect provider on loopback for the single sign-on tests (oidc-provider-mock).

It signs RS256 ID tokens with a key of its own, publishes them at its JWKS endpoint and answers
the token and userinfo endpoints over HTTP; who signs in is chosen on its authorization form.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import oidc_provider_mock
import requests
from django.test import override_settings

CLIENT_ID = "data-flow-console"
CLIENT_SECRET = "provider-client-secret"


@dataclass
class Provider:
    url: str

    def person(self, subject: str, **claims) -> None:
        """Tell the provider who `subject` is: the claims its userinfo answers with."""
        response = requests.put(
            f"{self.url}/users/{quote(subject, safe='')}", json=claims, timeout=5
        )
        response.raise_for_status()

    def settings(self, **extra) -> override_settings:
        """The console's settings for this provider, groups mapped to the three roles."""
        values = {
            "SSO_ENABLED": True,
            "OIDC_RP_CLIENT_ID": CLIENT_ID,
            "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
            "OIDC_OP_AUTHORIZATION_ENDPOINT": f"{self.url}/oauth2/authorize",
            "OIDC_OP_TOKEN_ENDPOINT": f"{self.url}/oauth2/token",
            "OIDC_OP_USER_ENDPOINT": f"{self.url}/userinfo",
            "OIDC_OP_JWKS_ENDPOINT": f"{self.url}/jwks",
            "OIDC_ADMIN_GROUPS": ["dataflow-admins"],
            "OIDC_LEAD_GROUPS": ["dataflow-leads"],
            "OIDC_SUPPORT_GROUPS": ["dataflow-support"],
            "SSO_PROVIDER_NAME": "Corp ID",
        }
        values.update(extra)
        return override_settings(**values)


@contextlib.contextmanager
def provider_running() -> Iterator[Provider]:
    """The provider on a free loopback port for as long as the block runs."""
    with oidc_provider_mock.run_server_in_thread() as server:
        provider = Provider(url=f"http://localhost:{server.server_port}")
        discovery = requests.get(f"{provider.url}/.well-known/openid-configuration", timeout=5)
        discovery.raise_for_status()
        assert discovery.json()["token_endpoint"] == f"{provider.url}/oauth2/token"
        yield provider
