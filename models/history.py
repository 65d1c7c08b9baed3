"""Reading the audit trail: each object's History and the Activity log, newest first.

Both page by id (keyset: ``before`` an id for older events, ``after`` one for newer), one index
range read per page however long the log is, and never count the whole log.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, and_, func, or_, select

from extensions import db

from .audit_event import AuditEvent

ACTION_LABELS = {
    "create": "Created",
    "update": "Edited",
    "delete": "Deleted",
    "restore": "Restored",
    "purge": "Purged",
    "link": "Linked a Host",
    "unlink": "Unlinked a Host",
    "make_owner": "Made owner",
    "roles": "Changed roles",
    "change_company": "Changed company",
    "create_user": "Added a user",
    "welcome_link": "Sent a welcome link",
    "password_link": "Sent a password link",
    "set_password": "Set a password",
    "end_sessions": "Ended sessions",
    "embed_sign_in": "Signed in through the embed",
    "view_as_start": "Started viewing as",
    "view_as_stop": "Stopped viewing as",
    "rotate_embed_secret": "Rotated the embed secret",
    "drop_previous_embed_secret": "Stopped the previous embed secret",
    "end_embed_sessions": "Ended embed sessions",
}
OBJECT_TYPES = {"Company": "Company", "Contact": "Contact", "Room": "Room", "Reseller": "Reseller settings"}
NOBODY = "No one signed in (the command line or a public page)"


def _text(value) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value)
    return str(value)


@dataclass
class Entry:
    """One event as the History and Activity screens show it."""

    event: AuditEvent

    @property
    def label(self) -> str:
        return ACTION_LABELS.get(self.event.action, self.event.action.replace("_", " ").capitalize())

    @property
    def who(self) -> str:
        return self.event.actor_name or NOBODY

    @property
    def when(self) -> str:
        return self.event.at.strftime("%Y-%m-%d %H:%M UTC")

    @property
    def object_label(self) -> str:
        return OBJECT_TYPES.get(self.event.object_type, self.event.object_type)

    @property
    def fields(self) -> list[tuple[str, str, str]]:
        """(field, before, after) for each recorded field, as text ("—" for none)."""
        try:
            changes = json.loads(self.event.changes or "{}")
        except ValueError:
            return []
        out = []
        for key, value in changes.items():
            if value is None:
                continue
            before, after = value if isinstance(value, list) and len(value) == 2 else (None, value)
            out.append((key.replace("_", " "), _text(before), _text(after)))
        return out


@dataclass
class EventPage:
    entries: list[Entry]
    older: int | None  # the id to page on for older events, or None: this is the oldest page
    newer: int | None  # the id to page on for newer events, or None: this is the newest page


def history_stmt(obj) -> Select:
    """The events about ``obj``: its own, those naming it as the related object, and for a company
    those of everything in it (its contacts, rooms and host links). The tenant scope still applies."""
    kind = type(obj).__name__
    conds = [and_(AuditEvent.object_type == kind, AuditEvent.object_id == obj.id),
             and_(AuditEvent.related_type == kind, AuditEvent.related_id == obj.id)]
    if kind == "Company":
        conds.append(AuditEvent.company_id == obj.id)
    return select(AuditEvent).where(or_(*conds))


def activity_stmt(actor_id: int | None = None, who: str = "", action: str | None = None,
                  object_type: str | None = None, start: date | None = None, end: date | None = None,
                  reseller_id: int | None = None) -> Select:
    """The Activity log with its filters (each already checked by the caller); ``end`` is inclusive."""
    stmt = select(AuditEvent)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if who:
        stmt = stmt.where(func.lower(AuditEvent.actor_name).contains(who.lower(), autoescape=True))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if start:
        stmt = stmt.where(AuditEvent.at >= datetime.combine(start, time.min))
    if end:
        stmt = stmt.where(AuditEvent.at < datetime.combine(end + timedelta(days=1), time.min))
    if reseller_id is not None:
        stmt = stmt.where(AuditEvent.reseller_id == reseller_id)
    return stmt


def event_page(stmt: Select, before: int | None = None, after: int | None = None, size: int = 50) -> EventPage:
    """One page of ``stmt``'s events, newest first: older than ``before``, newer than ``after``, or the newest.
    One more row than the page is read, to tell whether another page follows; nothing is counted."""
    if after is not None:
        rows = list(db.session.execute(stmt.where(AuditEvent.id > after).order_by(AuditEvent.id.asc())
                                       .limit(size + 1)).scalars())
        more = len(rows) > size
        rows = rows[:size][::-1]
        newer = rows[0].id if (rows and more) else None
        older = rows[-1].id if rows else None
    else:
        if before is not None:
            stmt = stmt.where(AuditEvent.id < before)
        rows = list(db.session.execute(stmt.order_by(AuditEvent.id.desc()).limit(size + 1)).scalars())
        more = len(rows) > size
        rows = rows[:size]
        older = rows[-1].id if (rows and more) else None
        newer = rows[0].id if (rows and before is not None) else None
    return EventPage([Entry(e) for e in rows], older, newer)
