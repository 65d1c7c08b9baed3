"""Dates, times and numbers in the signed-in person's locale and time zone (Contact.locale, Contact.time_zone).

A small table of formats for a few locales (no Babel). The default, "en" in "UTC", reads as the portal
always has: 2026-12-31, 2026-12-31 14:05 UTC, 1,234. The Jinja filters: ``|when`` (a stored UTC
datetime in the person's zone), ``|day`` (a date) and ``|num`` (a whole number with the locale's grouping).
"""
from __future__ import annotations

from datetime import date, datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from flask import Flask, g, has_request_context
from flask_login import current_user

DEFAULT_LOCALE, DEFAULT_ZONE = "en", "UTC"
# locale -> (its name in the form, date format, thousands separator)
LOCALES = {
    "en": ("English (ISO dates: 2026-12-31)", "%Y-%m-%d", ","),
    "en-US": ("English, US (12/31/2026)", "%m/%d/%Y", ","),
    "en-GB": ("English, UK (31/12/2026)", "%d/%m/%Y", ","),
    "de": ("Deutsch (31.12.2026)", "%d.%m.%Y", "."),
    "fr": ("Français (31/12/2026)", "%d/%m/%Y", "\u202f"),
    "nl": ("Nederlands (31-12-2026)", "%d-%m-%Y", "."),
    "es": ("Español (31/12/2026)", "%d/%m/%Y", "."),
}


@lru_cache(maxsize=1)
def time_zones() -> tuple[str, ...]:
    return tuple(sorted(available_timezones()))


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(time_zones())


def _choice() -> tuple[str, str]:
    """The signed-in person's (locale, zone); the defaults for anyone else or an unknown value. A list calls
    this for every date of every row: it reads the user Flask-Login has loaded (``g._login_user``, the one
    ``current_user`` gives) without going through the proxy each time."""
    if not has_request_context():
        return DEFAULT_LOCALE, DEFAULT_ZONE
    user = g.get("_login_user")
    if user is None:
        user = current_user._get_current_object()
    if not getattr(user, "is_authenticated", False):
        return DEFAULT_LOCALE, DEFAULT_ZONE
    return _valid(getattr(user, "locale", None), getattr(user, "time_zone", None))


@lru_cache(maxsize=256)
def _valid(locale: str | None, zone: str | None) -> tuple[str, str]:
    locale = locale if locale in LOCALES else DEFAULT_LOCALE
    zone = zone if zone and zone in _zones() else DEFAULT_ZONE
    return locale, zone


def when(value: datetime | None) -> str:
    """A stored (naive UTC) datetime as date and time in the person's zone, with the zone's abbreviation."""
    if value is None:
        return ""
    locale, zone = _choice()
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    local = aware.astimezone(ZoneInfo(zone))
    label = "UTC" if zone == "UTC" else (local.strftime("%Z") or zone)
    return f"{local.strftime(LOCALES[locale][1])} {local.strftime('%H:%M')} {label}"


def day(value: date | datetime | None) -> str:
    """A date in the locale's format; a datetime is first moved to the person's zone."""
    if value is None:
        return ""
    locale, zone = _choice()
    if isinstance(value, datetime):
        if value.tzinfo is None and zone == "UTC":
            value = value.date()  # stored as naive UTC: already in the zone (a list has a date on every row)
        else:
            aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
            value = aware.astimezone(ZoneInfo(zone)).date()
    fmt = LOCALES[locale][1]
    return value.isoformat() if fmt == "%Y-%m-%d" else value.strftime(fmt)


def num(value) -> str:
    """A whole number with the locale's thousands separator."""
    if value is None:
        return ""
    locale, _ = _choice()
    return f"{int(value):,}".replace(",", LOCALES[locale][2])


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(when=when, day=day, num=num)
