"""Fixtures of the API's tests: people with tokens, and an API client for each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from console.dataflow.people.tokens import token_create


@pytest.fixture(autouse=True)
def _throttle_forgotten() -> Iterator[None]:
    """Every test starts with no request counted against any token."""
    cache.clear()
    yield
    cache.clear()


def client_for(user, name: str = "ci") -> APIClient:
    """An API client that sends a fresh bearer token of `user`."""
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION=f"Bearer {token_create(user=user, name=name, days=30).secret}"
    )
    return client


@pytest.fixture
def clients(admin_user, lead_user, support_user, outsider) -> dict[str, APIClient]:
    """An API client per role, each with its own token; `anonymous` sends none."""
    return {
        "admin": client_for(admin_user),
        "lead": client_for(lead_user),
        "support": client_for(support_user),
        "no role": client_for(outsider),
        "anonymous": APIClient(),
    }
