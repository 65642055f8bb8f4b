"""A person's own settings (language) and what they watch: the writes and reads of both."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from console.dataflow.models import Preference, Service, Watch

# The session's copy of the person's saved language ("" for the browser's).
SESSION_KEY = "console_language"


def language_of(user) -> str:
    """The language the person chose, or "" when they follow their browser."""
    return Preference.objects.filter(user=user).values_list("language", flat=True).first() or ""


def language_set(*, user, language: str) -> str:
    """Save the person's language ("" to follow the browser); returns what was saved."""
    if language not in dict(settings.LANGUAGES):
        language = ""
    Preference.objects.update_or_create(user=user, defaults={"language": language})
    return language


def watch_set(*, user, service: Service, watching: bool) -> bool:
    """Start or stop watching a service; returns whether the person now watches it."""
    if watching:
        try:
            with transaction.atomic():
                Watch.objects.get_or_create(user=user, service=service)
        except IntegrityError:  # a second click raced the first: it is watched either way
            pass
        return True
    Watch.objects.filter(user=user, service=service).delete()
    return False


def watching(*, user, service: Service) -> bool:
    """Whether the person watches the service."""
    return Watch.objects.filter(user=user, service=service).exists()
