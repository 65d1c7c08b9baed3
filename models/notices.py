"""Trial-expiry notices: 7 days and 1 day before a room ends, and on the day it ends.

``queue_trial_notices`` (``flask --app app trials notify``, safe from cron at any frequency) writes
each due notice to the outbox once: its dedupe_key, unique in the outbox table, is the room, the kind,
the end date and the audience. A second run, or one running at the same time, finds the key taken
(or is refused by the unique key, and skips it). Extending a room changes its end date, so its
notices are due again for the new date. A run that missed a day catches up: the 7-day notice is due
while 2 to 7 days are left, and says how many.

Two audiences, two mails (neither sees the other's addresses): the reseller's users (unless the
reseller turned notices off) and the company's Owners (unless they turned their own off).
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

import mailer
from extensions import db

from .schema import Company, Contact, ContactState, OutboxMessage, Role, Room, RoomStatus, today

# kind -> (fewest, most) days left while it is due
NOTICE_KINDS = {"7-days": (2, 7), "1-day": (1, 1), "ends-today": (0, 0)}


def notice_kind(days_left: int) -> str | None:
    for kind, (low, high) in NOTICE_KINDS.items():
        if low <= days_left <= high:
            return kind
    return None


def notice_key(room: Room, kind: str, end: date, audience: str) -> str:
    return f"trial-notice:{room.id}:{kind}:{end.isoformat()}:{audience}"


def _rooms_due(day: date):
    stmt = (select(Room)
            .where(Room.status != RoomStatus.PAID, Room.suspended.is_(False),
                   Room.end_date >= day, Room.end_date <= day + timedelta(days=7))
            .options(joinedload(Room.company).joinedload(Company.reseller))
            .order_by(Room.end_date, Room.id))
    return db.session.execute(stmt.execution_options(unscoped=True)).scalars().all()


def recipients(room: Room) -> dict[str, list[str]]:
    """{audience: emails}: the reseller's live users, and the company's live Owners, who want notices."""
    live = (Contact.state == ContactState.LIVE, Contact.trial_notices.is_(True))
    staff: list[str] = []
    if room.company.reseller.trial_notices:
        staff = db.session.execute(
            select(Contact.email).where(Contact.reseller_id == room.reseller_id, Contact.role_clause(Role.RESELLER), *live)
            .order_by(Contact.email).execution_options(unscoped=True)).scalars().all()
    owners = db.session.execute(
        select(Contact.email).where(Contact.company_id == room.company_id, Contact.role_clause(Role.OWNER), *live)
        .order_by(Contact.email).execution_options(unscoped=True)).scalars().all()
    return {"reseller": [e for e in staff if e not in owners], "owners": list(owners)}


def _subject(room: Room, left: int) -> str:
    if left == 0:
        return f"{room.name} ends today"
    return f"{room.name} ends in {left} day{'' if left == 1 else 's'}"


def queue_trial_notices() -> int:
    """Queue every notice due today that is not queued yet; each in its own transaction. Returns how many."""
    day = today()
    rooms = _rooms_due(day)
    due = []
    for room in rooms:
        left = (room.end_date - day).days
        kind = notice_kind(left)
        if kind is not None:
            due.append((room.id, kind, left))
    db.session.commit()
    queued = 0
    for room_id, kind, left in due:
        room = db.session.execute(select(Room).where(Room.id == room_id).execution_options(unscoped=True)
                                  .options(joinedload(Room.company).joinedload(Company.reseller))).scalar_one_or_none()
        if room is None or room.end_date is None or notice_kind((room.end_date - day).days) != kind:
            db.session.rollback()
            continue  # changed meanwhile: the next run sees it as it is now
        link = mailer.public_url("rooms.edit", room_id=room.id)
        for audience, emails in recipients(room).items():
            if not emails:
                continue
            key = notice_key(room, kind, room.end_date, audience)
            if db.session.execute(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)).first():
                continue  # queued by an earlier run
            try:
                msg = mailer.send_email(_subject(room, left), emails, "trial_notice", room=room, company=room.company,
                                        left=left, end=room.end_date, link=link, audience=audience)
                msg.dedupe_key = key  # set here, not through send_email, which would quietly return another run's
                db.session.commit()
            except IntegrityError:  # a run at the same time queued it first: its unique key refused ours
                db.session.rollback()
                continue
            queued += 1
    db.session.commit()
    return queued
