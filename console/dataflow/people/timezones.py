"""Each person's time zone: stored per user, activated per request, one date format everywhere."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime, tzinfo
from functools import cache

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from console.dataflow.models import Preference

SESSION_KEY = "time_zone"


@cache
def zone_names() -> list[str]:
    """Every IANA zone this machine knows, sorted (the preferences page offers these)."""
    return sorted(zoneinfo.available_timezones())


def zone_load(name: str) -> zoneinfo.ZoneInfo | None:
    """The zone of that name, or None for "" or a name this machine does not know."""
    if not name or name not in zone_names():
        return None
    return zoneinfo.ZoneInfo(name)


def when_text(value: datetime | None, *, seconds: bool = False, zone: tzinfo | None = None) -> str:
    """The one format of a moment: "2026-11-29 20:31 KST", in `zone` or the active time zone.

    "—" for None.
    """
    if value is None:
        return "—"
    if timezone.is_naive(value):
        value = timezone.make_aware(value, timezone.get_default_timezone())
    local = timezone.localtime(value, zone)
    zone = local.tzname() or local.strftime("%z")
    return local.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + f" {zone}"


def time_zone_save(*, request: HttpRequest, name: str) -> None:
    """Store the person's time zone ("" = the site's) and use it from this request on."""
    Preference.objects.update_or_create(user=request.user, defaults={"time_zone": name})
    request.session[SESSION_KEY] = name
    _activate(name)


def _activate(name: str) -> None:
    zone = zone_load(name)
    if zone is None:
        timezone.deactivate()
    else:
        timezone.activate(zone)


class TimeZoneMiddleware:
    """Activate the signed-in person's time zone; the session remembers it between requests."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        name = ""
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            name = request.session.get(SESSION_KEY)
            if name is None:  # first request of a session: read the stored preference once
                name = (
                    Preference.objects.filter(user=user).values_list("time_zone", flat=True).first()
                    or ""
                )
                request.session[SESSION_KEY] = name
        _activate(name)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


class TimeZoneForm(forms.Form):
    """The preferences page: one time zone, or the site's."""

    time_zone = forms.ChoiceField(required=False, label=gettext_lazy("Time zone"))

    def __init__(self, *args, site_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [
            ("", _("The console's time zone (%(zone)s)") % {"zone": site_zone}),
            *((name, name) for name in zone_names()),
        ]
        self.fields["time_zone"].error_messages["invalid_choice"] = _(
            "Choose a time zone from the list, e.g. Asia/Seoul; got '%(value)s'."
        )
