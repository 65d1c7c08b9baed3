"""The audit trail, field diffs, and optimistic locking."""
from __future__ import annotations

import json
from datetime import date, datetime

from flask import g, has_request_context
from flask_login import current_user

from extensions import db

from .conflicts import guarded, lock, stale
from .errors import RuleError
from .audit_event import AuditEvent
from .schema import Reseller

HIDDEN = "(hidden)"
# Never written to the trail as they are: a change to one shows as "(hidden)".
SECRET_FIELDS = frozenset({"password", "password_hash", "token", "link", "secret", "embed_secret",
                           "embed_secret_previous", "pin"})

# The fields a create or delete records (the object's values after or before it).
SNAPSHOT = {
    "Company": ("name", "type", "status", "branded"),
    "Contact": ("first_name", "last_name", "email", "phone", "state", "roles"),
    "Room": ("name", "product_type", "status", "end_date", "slug", "max_participants", "pin", "lobby",
             "recording", "suspended"),
    "Reseller": ("name", "trial_days", "demo_days", "brand_color", "logo_url", "embed_origins"),
}


def _actor():
    """The person acting: in "view as", the one viewing, not the one viewed. None outside a request."""
    if has_request_context():
        real = g.get("real_user")
        if real is not None:
            return real
        if current_user and current_user.is_authenticated:
            return current_user._get_current_object()
    return None


def actor_id() -> int | None:
    actor = _actor()
    return actor.id if actor is not None else None


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return value


def _masked(value):
    return None if value in (None, "", []) else HIDDEN


def mask(changes: dict) -> dict:
    """``changes`` with every secret field's values hidden (whether it was set stays visible)."""
    out = {}
    for key, value in changes.items():
        if key in SECRET_FIELDS:
            value = [_masked(v) for v in value] if isinstance(value, (list, tuple)) and len(value) == 2 else HIDDEN
        out[key] = value
    return out


def recorded_fields(obj) -> dict:
    """The object's recorded fields and their values, e.g. for a create (None -> value) or a delete."""
    return {key: _plain(getattr(obj, key)) for key in SNAPSHOT.get(type(obj).__name__, ())}


def created(obj) -> dict:
    """{field: [None, value]} for what a new object starts with (empty fields left out)."""
    return {key: [None, value] for key, value in recorded_fields(obj).items() if value not in (None, "", [], False)}


def removed(obj, went_with: dict | None = None) -> dict:
    """{field: [value, None]} for a deleted object, and what went with it (lists of names and emails)."""
    out = {key: [value, None] for key, value in recorded_fields(obj).items() if value not in (None, "", [], False)}
    for key, names in (went_with or {}).items():
        out[key] = [names, None]
    return out


def audit(action: str, obj, summary: str = "", changes: dict | None = None, related=None, actor=None,
          company_id: int | None = None) -> None:
    """Record a change in the current transaction: who (``actor``, default the signed-in person), when,
    what, and the fields before and after. ``related``: a second object the event is about (it shows
    in that object's History too). Secret fields are hidden (see SECRET_FIELDS)."""
    actor = actor if actor is not None else _actor()
    if company_id is None:
        company_id = obj.id if type(obj).__name__ == "Company" else getattr(obj, "company_id", None)
    db.session.add(
        AuditEvent(
            actor_id=actor.id if actor is not None else None,
            actor_name=(actor.name or actor.email)[:300] if actor is not None else None,
            reseller_id=getattr(obj, "reseller_id", None) if not isinstance(obj, Reseller) else obj.id,
            company_id=company_id,
            action=action,
            object_type=type(obj).__name__,
            object_id=obj.id,
            related_type=type(related).__name__ if related is not None else None,
            related_id=related.id if related is not None else None,
            summary=summary[:300],
            changes=json.dumps(mask(changes or {}), default=str),
        )
    )


def apply_changes(obj, data: dict) -> dict:
    """Set fields on obj and return {field: [old, new]} for the ones that changed."""
    diff = {}
    for key, value in data.items():
        old = getattr(obj, key)
        if old != value:
            diff[key] = [_plain(old), _plain(value)]
            setattr(obj, key, value)
    return diff


@guarded
def check_version(obj, submitted) -> None:
    """Optimistic locking for an edit form: a form made from another version answers 409.

    The form must carry the version it was made from; one without it is refused,
    never saved blind. The row is locked first (see conflicts.lock), so two saves of
    the same version cannot both pass: the second waits, then sees the first's version.
    """
    if submitted in (None, ""):
        raise RuleError("This form has no version, so saving it could undo someone else's change. "
                        "Reload the page and try again.", status=409)
    try:
        submitted = int(submitted)
    except (TypeError, ValueError):
        raise RuleError("This form is out of date. Reload and try again.", status=409)
    lock(obj)
    if submitted != obj.version:
        raise stale(obj)
