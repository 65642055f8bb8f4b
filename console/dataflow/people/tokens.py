"""Per-person API tokens: made with a secret shown once, stored as its SHA-256, revoked at will."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from console.dataflow.models import ApiToken

TOKEN_START = "dfc_"  # noqa: S105 (a marker that tells our tokens apart, not a secret)
PREFIX_LENGTH = 12  # "dfc_" and 8 characters of the secret, shown to tell tokens apart
# last_used_at is written at most this often, so a busy script does not write on every call.
LAST_USED_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class NewToken:
    """A token just made, with its secret: shown once, never again."""

    token: ApiToken
    secret: str


def token_hash(secret: str) -> str:
    """The stored form of a secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def token_create(*, user, name: str, days: int | None) -> NewToken:
    """A new token for `user`, valid for `days` days (None: until revoked)."""
    secret = TOKEN_START + secrets.token_urlsafe(32)
    now = timezone.now()
    token = ApiToken.objects.create(
        user=user,
        name=name.strip(),
        prefix=secret[:PREFIX_LENGTH],
        key_hash=token_hash(secret),
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    return NewToken(token=token, secret=secret)


def token_revoke(*, user, token_id: int) -> bool:
    """Revoke one of the person's own tokens; False when there is no such usable token."""
    return bool(
        ApiToken.objects.filter(pk=token_id, user=user, revoked_at__isnull=True).update(
            revoked_at=timezone.now()
        )
    )


def token_check(secret: str, now=None) -> ApiToken | None:
    """The usable token with this secret (its person active), noting its use; else None."""
    if not secret.startswith(TOKEN_START):
        return None
    now = now or timezone.now()
    token = ApiToken.objects.select_related("user").filter(key_hash=token_hash(secret)).first()
    if token is None or not token.is_usable(now) or not token.user.is_active:
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token
