"""Each person's time zone: stored per user, activated per request, one date format everywhere."""

from __future__ import annotations

import zoneinfo
from collections import Counter
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


# The IANA regions people live in; the rest are legacy aliases ("ROK", "US/Pacific") and
# machine entries ("Factory", "localtime", "posixrules", "Etc/GMT+9") that nobody looks for.
REGIONS = (
    "Africa",
    "America",
    "Antarctica",
    "Arctic",
    "Asia",
    "Atlantic",
    "Australia",
    "Europe",
    "Indian",
    "Pacific",
)
# Offered first, before the team's own zones: the console's home region and UTC.
FIRST_ZONES = ("Asia/Seoul", "UTC")


@cache
def zone_names() -> list[str]:
    """Every IANA zone this machine knows, sorted (a stored preference is one of these)."""
    return sorted(zoneinfo.available_timezones())


@cache
def zones_to_offer() -> list[str]:
    """The zones the picker lists: UTC and the places of the IANA regions, sorted."""
    return ["UTC", *(name for name in zone_names() if name.split("/", 1)[0] in REGIONS)]


def zone_label(name: str, at: datetime | None = None) -> str:
    """The zone with its offset now, as people compare zones: "Asia/Seoul (UTC+09:00)"."""
    offset = (at or timezone.now()).astimezone(zoneinfo.ZoneInfo(name)).strftime("%z")
    return f"{name} (UTC{offset[:3]}:{offset[3:]})"


def zones_first(site_zone: str) -> list[str]:
    """The zones most people here want: Seoul, UTC, the site's, then those the team chose."""
    chosen = Counter(
        Preference.objects.exclude(time_zone="").values_list("time_zone", flat=True)[:1000]
    )
    team = [name for name, _count in chosen.most_common(5)]
    return [
        name
        for name in dict.fromkeys([*FIRST_ZONES, site_zone, *team])
        if zone_load(name) is not None
    ]


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
    """The preferences page: one time zone, or the site's.

    The common zones come first (Seoul, UTC, the site's, the team's; the page's script adds the
    browser's), then every place by region, each with its offset now.
    """

    time_zone = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Time zone"),
        widget=forms.Select(attrs={"class": "form-select mb-2"}),
    )

    def __init__(self, *args, site_zone: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        current = self.initial.get("time_zone") or ""
        first = zones_first(site_zone)
        rest = [name for name in zones_to_offer() if name not in first]
        if current and current not in first and current not in rest and zone_load(current):
            first.append(current)  # a legacy name chosen before keeps being offered
        self.fields["time_zone"].choices = [
            ("", _("The console's time zone (%(zone)s)") % {"zone": site_zone}),
            (_("Common"), [(name, zone_label(name, now)) for name in first]),
            (_("All time zones"), [(name, zone_label(name, now)) for name in rest]),
        ]
        # console.js moves the browser's zone to the top, with this note after its name.
        self.fields["time_zone"].widget.attrs["data-browser-zone"] = _("this browser")
        self.fields["time_zone"].error_messages["invalid_choice"] = _(
            "Choose a time zone from the list, e.g. Asia/Seoul; got '%(value)s'."
        )
