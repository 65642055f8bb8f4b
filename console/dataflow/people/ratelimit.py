"""Counting attempts of a limited action in the database, shared by every web process.

`ratelimit_spent` says whether a key has used its allowance within a window; `ratelimit_count`
records one more attempt; `ratelimit_clear` forgets a key (after a success). Keys are stored as
digests, so no client or mail address lands in the table.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.utils import timezone

from console.dataflow.models import RateLimitHit

# Rows older than this are pruned as new ones come: every window used is shorter.
KEEP = timedelta(days=1)


def _digest(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.encode()).hexdigest()


def ratelimit_spent(*, scope: str, key: str, limit: int, window: timedelta) -> bool:
    """Whether `key` made `limit` or more attempts of `scope` within the last `window`."""
    since = timezone.now() - window
    recent = RateLimitHit.objects.filter(scope=scope, key=_digest(key), at__gt=since)
    return recent.count() >= limit


def ratelimit_count(*, scope: str, key: str) -> None:
    """Record one attempt of `scope` by `key`, and prune rows nobody counts any more."""
    now = timezone.now()
    RateLimitHit.objects.filter(at__lt=now - KEEP).delete()
    RateLimitHit.objects.create(scope=scope, key=_digest(key), at=now)


def ratelimit_clear(*, scope: str, key: str) -> None:
    """Forget the attempts of `scope` by `key` (the person got it right)."""
    RateLimitHit.objects.filter(scope=scope, key=_digest(key)).delete()
