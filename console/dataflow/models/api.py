"""The JSON API's rows: per-person tokens, plans waiting for their confirm, a change's channel."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.models.changes import ChangeRequest
from console.dataflow.models.services import Service


class ApiToken(models.Model):
    """A person's key to the JSON API; only its SHA-256 and a short prefix are stored."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16)  # the start of the secret, to tell tokens apart
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_usable(self, now=None) -> bool:
        """Neither revoked nor expired."""
        now = now or timezone.now()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ApiPlan(models.Model):
    """A planned edit made through the API, kept until it is confirmed (once) as a change."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_plans"
    )
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="api_plans")
    kind = models.CharField(max_length=20, choices=ChangeRequest.Kind)
    base_revision = models.PositiveIntegerField()
    base_config = models.JSONField()
    desired_config = models.JSONField()
    entries = models.JSONField(default=list)
    precheck = models.JSONField(null=True, blank=True)
    # Held values the edit page's rules would refuse, by where they sit in the plan's `desired`.
    warnings = models.JSONField(default=dict, blank=True)
    reason = models.TextField()
    ticket = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    change = models.OneToOneField(
        ChangeRequest, on_delete=models.SET_NULL, null=True, blank=True, related_name="api_plan"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"plan {self.pk} of {self.service_id}"


class ApiOrigin(models.Model):
    """A change that came through the API (or a configuration file), and how."""

    class Via(models.TextChoices):
        TOKEN = "token", _("API, with a token")
        SESSION = "session", _("API, in a signed-in session")
        FILE = "file", _("configuration file")

    change = models.OneToOneField(
        ChangeRequest, on_delete=models.CASCADE, related_name="api_origin"
    )
    token = models.ForeignKey(ApiToken, on_delete=models.SET_NULL, null=True, blank=True)
    token_name = models.CharField(max_length=100, blank=True)  # kept when the token is deleted
    via = models.CharField(max_length=10, choices=Via, default=Via.TOKEN)

    def __str__(self) -> str:
        return f"change {self.change_id} via {self.via} {self.token_name}".rstrip()
