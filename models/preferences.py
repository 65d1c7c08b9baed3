"""A person's own preferences: how dates, times and numbers read for them (locale_format.py)."""
from __future__ import annotations

from locale_format import LOCALES, time_zones

from .errors import RuleError
from .schema import Contact


def set_preferences(contact: Contact, data: dict) -> Contact:
    """Locale and time zone, each one of the known values, or RuleError next to its field."""
    locale = (data.get("locale") or "").strip()
    if locale not in LOCALES:
        raise RuleError(f"Choose a language and date format from the list ({', '.join(LOCALES)}).", "locale")
    zone = (data.get("time_zone") or "").strip()
    if zone not in time_zones():
        raise RuleError("Choose a time zone from the list, like Europe/Amsterdam or UTC.", "time_zone")
    contact.locale, contact.time_zone = locale, zone
    return contact
