"""People's own rows: preferences, watches, counted attempts, single sign-on identities."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.models.services import Service


class Preference(models.Model):
    """One person's own settings: the time zone and the language of their pages and mail."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_preference"
    )
    # An IANA name (e.g. "Asia/Seoul"); "" means the site's TIME_ZONE.
    time_zone = models.CharField(max_length=64, blank=True)
    # "" follows the browser; otherwise one of settings.LANGUAGES.
    language = models.CharField(max_length=10, blank=True, choices=settings.LANGUAGES)

    def __str__(self) -> str:
        return f"{self.user}: {self.time_zone or 'site time zone'}, {self.language or 'browser'}"


class Watch(models.Model):
    """A person who wants to hear when a change of a service ends."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="console_watches"
    )
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="watches")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["service__name", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["user", "service"], name="one_watch_per_person")
        ]

    def __str__(self) -> str:
        return f"{self.user} watches {self.service}"


class RateLimitHit(models.Model):
    """One counted attempt of a limited action: a password reset request, a wrong password.

    `key` is a digest of what is counted (a client address, an email address, a user id), so
    no address is stored in clear; rows older than a day are pruned as new ones come.
    """

    scope = models.CharField(max_length=40)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["scope", "key", "at"], name="ratelimit_lookup"),
            models.Index(fields=["at"], name="ratelimit_by_time"),
        ]

    def __str__(self) -> str:
        return f"{self.scope} at {self.at:%Y-%m-%d %H:%M:%S}"


class SsoIdentity(models.Model):
    """The identity-provider account a person signs in with (console.sso owns it).

    A person is found by the provider's issuer and subject, never by mail address or name, so
    an account at the identity provider can never take over a local (break-glass) account.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="sso_identity"
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    # The provider's groups at the last sign-in, as the role mapping saw them.
    groups = models.JSONField(default=list, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("single sign-on identity")
        verbose_name_plural = _("single sign-on identities")
        constraints = [
            models.UniqueConstraint(fields=["issuer", "subject"], name="sso_identity_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.subject})"
