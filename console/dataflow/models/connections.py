"""SCP connections: the extra endpoints with their keys, their last check, their request budget."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from console.dataflow.connections import crypto
from console.dataflow.connections.endpoints import validate_scp_url
from console.scp.versions import SUPPORT_WARNING_DAYS

DEFAULT_CONNECTION = "default"


class ScpConnection(models.Model):
    """An extra SCP OpenAPI endpoint with its keys; `default` comes from the SCP_* variables."""

    class Language(models.TextChoices):
        ENGLISH = "en-US", "en-US"
        KOREAN = "ko-KR", "ko-KR"

    name = models.SlugField(max_length=50, unique=True)
    base_url = models.URLField(
        help_text=_("e.g. https://data-flow.kr-west1.e.samsungsdscloud.com"),
        max_length=300,
        validators=[validate_scp_url],
    )
    access_key = models.CharField(max_length=200)
    secret_key_encrypted = models.TextField(editable=False, blank=True)
    api_version = models.CharField(max_length=50, default="data-flow 1.1")
    language = models.CharField(max_length=10, choices=Language, default=Language.ENGLISH)
    enabled = models.BooleanField(default=True)
    # Four-eyes: a confirmed change of a service of this connection waits for a team lead.
    needs_approval = models.BooleanField(
        _("changes need approval"),
        default=False,
        help_text=_("A confirmed change waits until a team lead or another admin approves it."),
    )
    # Where a Slack-compatible message goes when a change of this connection's services ends.
    # The URL carries the webhook's own token: encrypted like the secret key, shown masked.
    webhook_url_encrypted = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("SCP connection")

    def __str__(self) -> str:
        return self.name

    def set_secret_key(self, secret: str) -> None:
        """Store the secret key encrypted; it is never readable back through a form."""
        self.secret_key_encrypted = crypto.encrypt(secret)

    def get_secret_key(self) -> str:
        """The secret key in clear text, for signing only."""
        return crypto.decrypt(self.secret_key_encrypted)

    def set_webhook_url(self, url: str) -> None:
        """Store the webhook URL encrypted ("" removes it); it is never shown in clear again."""
        self.webhook_url_encrypted = crypto.encrypt(url.strip())

    def get_webhook_url(self) -> str:
        """The webhook URL in clear text, for posting only; "" when there is none."""
        return crypto.decrypt(self.webhook_url_encrypted)

    def webhook_url_masked(self) -> str:
        """The webhook's scheme and host with the rest hidden, or "" without a webhook."""
        if not self.webhook_url_encrypted:
            return ""
        try:
            parts = urlsplit(self.get_webhook_url())
        except (crypto.SecretUnreadable, ValueError):
            return "•••"
        return f"{parts.scheme}://{parts.hostname or ''}/•••"


class ConnectionStatus(models.Model):
    """The last verdict on one SCP connection: endpoint, keys, API version, round trip."""

    # What SCP's version list says of the configured version, beside SCP's own words.
    NOT_LISTED = "NOT_LISTED"
    REFUSED = "REFUSED"  # answered 406 NoSuchVersion while the list was unreadable
    FINE = ("CURRENT", "SUPPORTED")

    name = models.SlugField(max_length=50, unique=True)
    checked_at = models.DateTimeField()
    ok = models.BooleanField(default=False)
    endpoint_ok = models.BooleanField(default=False)
    # None when the check never got as far as a signed call.
    keys_ok = models.BooleanField(null=True, blank=True)
    api_version = models.CharField(max_length=50, blank=True)
    # CURRENT, SUPPORTED, PLANNED, DEPRECATED, NOT_LISTED, REFUSED; "" when unknown.
    version_status = models.CharField(max_length=20, blank=True)
    # The version's last supported day, SCP's `not_before`, whatever its status (SCP_API.md §8).
    version_date = models.DateField(null=True, blank=True)
    current_version = models.CharField(max_length=50, blank=True)
    round_trip_ms = models.PositiveIntegerField(null=True, blank=True)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("SCP connection status")
        verbose_name_plural = _("SCP connection statuses")

    def __str__(self) -> str:
        return f"{self.name}: {'OK' if self.ok else 'FAILED'}"

    @property
    def version_label(self) -> str:
        """The version's status in words for a badge."""
        labels = {
            self.NOT_LISTED: _("not listed"),
            self.REFUSED: _("refused (406)"),
            "": _("unknown"),
        }
        return str(labels.get(self.version_status, self.version_status))

    @property
    def version_days_left(self) -> int | None:
        """Days from today to the last supported day (negative once passed); None without one."""
        if self.version_date is None:
            return None
        return (self.version_date - timezone.localdate()).days

    @property
    def version_days_ago(self) -> int | None:
        """Days since the last supported day passed; None while it has not."""
        days = self.version_days_left
        return -days if days is not None and days < 0 else None

    @property
    def version_colour(self) -> str:
        """Badge colour: green fine, yellow deprecated or near its end, red unusable or past it."""
        days = self.version_days_left
        if days is not None and days < 0:
            return "danger"
        if not self.version_status:
            return "secondary"
        if self.version_status in self.FINE:
            return "warning" if days is not None and days <= SUPPORT_WARNING_DAYS else "success"
        return "warning" if self.version_status == "DEPRECATED" else "danger"


class ScpBudget(models.Model):
    """The shared request budget of one SCP connection (connections.budget owns it).

    Read and written by the budget through a connection of its own; on SQLite the budget
    lives in a file of its own instead and this table stays empty.
    """

    name = models.CharField(max_length=50, unique=True)
    state = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("SCP request budget")

    def __str__(self) -> str:
        return self.name
