"""The audit trail, field diffs, and optimistic locking."""
from __future__ import annotations

import json
from datetime import date, datetime

from flask import g, has_request_context
from flask_login import current_user

from extensions import db

from .conflicts import guarded, lock, stale
from .errors import RuleError
from .schema import AuditEvent, Reseller

def actor_id() -> int | None:
    if has_request_context():
        real = g.get("real_user")  # "view as": the person acting, not the one viewed
        if real is not None:
            return real.id
        if current_user and current_user.is_authenticated:
            return current_user.id
    return None


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def audit(action: str, obj, summary: str = "", changes: dict | None = None) -> None:
    db.session.add(
        AuditEvent(
            actor_id=actor_id(),
            reseller_id=getattr(obj, "reseller_id", None) if not isinstance(obj, Reseller) else obj.id,
            action=action,
            object_type=type(obj).__name__,
            object_id=obj.id,
            summary=summary[:300],
            changes=json.dumps(changes or {}, default=str),
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
