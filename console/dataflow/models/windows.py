"""When changes may reach SCP: weekly maintenance windows and freezes, per connection."""

from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from console.dataflow.models.connections import DEFAULT_CONNECTION, ScpConnection
from console.dataflow.models.services import Service

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


def validate_time_zone(name: str) -> None:
    """An IANA time zone name, e.g. Asia/Seoul."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            _("Use an IANA time zone name such as Asia/Seoul; got '%(name)s'."),
            params={"name": name},
        ) from None


class _Scoped(models.Model):
    """A rule for every service of an SCP connection, or for one of its services."""

    connection_name = models.SlugField(
        _("SCP connection"),
        max_length=50,
        default="default",
        help_text=_("'default' (from the settings) or the name of an SCP connection."),
    )
    service = models.ForeignKey(
        Service,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty for every service of the connection."),
    )
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Seoul", validators=[validate_time_zone]
    )

    class Meta:
        abstract = True

    def clean(self) -> None:
        if (
            self.connection_name != DEFAULT_CONNECTION
            and not ScpConnection.objects.filter(name=self.connection_name).exists()
        ):
            raise ValidationError(
                {
                    "connection_name": ValidationError(
                        _("No SCP connection is named '%(name)s'."),
                        params={"name": self.connection_name},
                    )
                }
            )
        if self.service_id and self.service.connection_name != self.connection_name:
            raise ValidationError(
                {
                    "service": ValidationError(
                        _("This service belongs to the connection %(name)s."),
                        params={"name": self.service.connection_name},
                    )
                }
            )


class MaintenanceWindow(_Scoped):
    """A weekly time span in which changes may be sent; it may cross midnight.

    A connection (or service) with no window is always open. A service with windows of its
    own follows those instead of its connection's.
    """

    weekday = models.PositiveSmallIntegerField(_("starts on"), choices=WEEKDAYS)
    starts_at = models.TimeField(_("from"))
    ends_at = models.TimeField(
        _("until"),
        help_text=_("Earlier than or equal to 'from': the window ends the next day."),
    )

    class Meta:
        ordering = ["connection_name", "weekday", "starts_at"]
        verbose_name = _("maintenance window")

    def __str__(self) -> str:
        return (
            f"{self.connection_name}: {self.get_weekday_display()} "
            f"{self.starts_at:%H:%M}-{self.ends_at:%H:%M} {self.time_zone}"
        )


class MaintenanceFreeze(_Scoped):
    """Days on which no change is sent, windows or not (year-end, a release)."""

    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"), help_text=_("The last day of the freeze, included."))
    reason = models.CharField(_("reason"), max_length=200, blank=True)

    class Meta:
        ordering = ["connection_name", "first_day"]
        verbose_name = _("freeze")

    def __str__(self) -> str:
        return f"{self.connection_name}: {self.first_day} to {self.last_day} {self.reason}".strip()

    def clean(self) -> None:
        super().clean()
        if self.first_day and self.last_day and self.last_day < self.first_day:
            raise ValidationError({"last_day": _("The freeze cannot end before it starts.")})
