"""Trial and demo lifecycle: extend, convert to paid subscriber, back to demo, suspend, and the same
for many rooms at once; and what Home shows (rooms ending soon or just ended, trials started and
converted this month, prospects with no live room).

Each write takes an optional reason, is recorded with ``audit`` (before → after), and is part of
the caller's transaction (the view commits once, also for a bulk action over many rooms).
"""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import and_, exists, func, select

from extensions import db

from .audit import apply_changes, audit
from .conflicts import guarded, lock
from .errors import RuleError
from .rooms import end_date_for
from .trash import trash_room
from .audit_event import AuditEvent
from .schema import Company, CustomerStatus, Room, RoomStatus, today

SOON_DAYS = 7  # Home: rooms ending in the next 7 days, and rooms that ended in the last 7
MAX_EXTEND_DAYS = 365
REASON_MAX = 200
BULK_MAX = 5000  # "all N matching" acts on at most this many rooms in one transaction
BULK_ACTIONS = ("extend", "convert", "suspend", "delete")


def clean_reason(value) -> str:
    return " ".join(str(value or "").split())[:REASON_MAX]


def _with_reason(summary: str, reason: str) -> str:
    return f"{summary} (reason: {reason})" if reason else summary


def new_end_date(room: Room, data) -> date:
    """The end date an Extend form asks for: ``end_date`` (a date) or ``days`` (added to the end date, or to
    today for a room that has ended). Refused, naming the field: none, zero or negative days, a past date."""
    if room.status == RoomStatus.PAID:
        raise RuleError(f"{room.name} is a paid subscriber: it has no end date to extend.", "days")
    raw_date = (data.get("end_date") or "").strip()
    raw_days = (str(data.get("days") or "")).strip()
    if raw_date:
        try:
            end = date.fromisoformat(raw_date)
        except ValueError:
            raise RuleError("End date must be a date like 2026-12-31.", "end_date")
        if end < today():
            raise RuleError(f"End date {end.isoformat()} is in the past: choose today or a later date.", "end_date")
        if room.end_date is not None and end <= room.end_date:
            raise RuleError(f"End date must be after the current end date ({room.end_date.isoformat()}).", "end_date")
        return end
    if not raw_days:
        raise RuleError("Give a number of days, or a date to extend to.", "days")
    try:
        days = int(raw_days)
    except ValueError:
        raise RuleError("Days must be a whole number, like 7.", "days")
    if days <= 0:
        raise RuleError("Extend by at least 1 day.", "days")
    if days > MAX_EXTEND_DAYS:
        raise RuleError(f"Extend by at most {MAX_EXTEND_DAYS} days at a time.", "days")
    start = max(room.end_date or today(), today())
    return start + timedelta(days=days)


def _change(room: Room, action: str, fields: dict, summary: str, reason: str) -> dict:
    diff = apply_changes(room, fields)
    if diff:
        db.session.flush()
        audit(action, room, _with_reason(summary, reason), diff)
    return diff


@guarded
def extend_room(room: Room, data, reason: str = "") -> Room:
    lock(room)
    end = new_end_date(room, data)
    _change(room, "extend", {"end_date": end}, f"Extended room {room.name} to {end.isoformat()}", clean_reason(reason))
    return room


def first_paid_room(room: Room) -> bool:
    """The room is its company's only paid subscriber room (just converted: its first)."""
    others = db.session.execute(
        select(func.count()).select_from(Room)
        .where(Room.company_id == room.company_id, Room.status == RoomStatus.PAID, Room.id != room.id)
    ).scalar()
    return others == 0


@guarded
def convert_room(room: Room, reason: str = "") -> bool:
    """Make the room a paid subscriber (no end date). True when it is the company's first paid room
    and the company is still a prospect: the answer offers to make the company a customer."""
    lock(room)
    if room.status == RoomStatus.PAID:
        raise RuleError(f"{room.name} is already a paid subscriber.", "status")
    _change(room, "convert", {"status": RoomStatus.PAID.value, "end_date": None},
            f"Converted room {room.name} to paid subscriber", clean_reason(reason))
    return room.company.status == CustomerStatus.PROSPECT and first_paid_room(room)


@guarded
def back_to_demo(room: Room, reason: str = "") -> Room:
    """A demo again, ending the reseller's demo length from today."""
    lock(room)
    if room.status == RoomStatus.DEMO:
        raise RuleError(f"{room.name} is already a demo.", "status")
    end = end_date_for(RoomStatus.DEMO, room.company.reseller)
    _change(room, "back_to_demo", {"status": RoomStatus.DEMO.value, "end_date": end},
            f"Room {room.name} back to demo until {end.isoformat()}", clean_reason(reason))
    return room


@guarded
def suspend_room(room: Room, reason: str = "") -> Room:
    lock(room)
    _change(room, "suspend", {"suspended": True}, f"Suspended room {room.name}", clean_reason(reason))
    return room


@guarded
def make_customer(company: Company, reason: str = "") -> Company:
    """Prospect → customer (the offer after a company's first room is converted)."""
    lock(company)
    diff = apply_changes(company, {"status": CustomerStatus.CUSTOMER.value})
    if diff:
        db.session.flush()
        audit("update", company, _with_reason(f"Made {company.name} a customer", clean_reason(reason)), diff)
    return company


@guarded
def set_own_trial_notices(contact, on: bool):
    """A person's own switch for trial-expiry notices (an Owner's account setting)."""
    diff = apply_changes(contact, {"trial_notices": bool(on)})
    if diff:
        db.session.flush()
        audit("update", contact, f"Trial notices {'on' if on else 'off'} for {contact.name}", diff)
    return contact


def bulk_action(rooms: list[Room], action: str, data, reason: str = "", progress=None) -> dict:
    """One action on many rooms, each with its own history entry, in the caller's transaction.

    A room the action does not apply to (Convert on a paid room, Suspend on a suspended one) is skipped and
    counted; a refusal (Extend to a date before a room's end) raises, naming the room, and nothing is kept.
    ``progress(done, total)`` is called after each room. Returns {"done": n, "skipped": n, ...}."""
    if action not in BULK_ACTIONS:
        raise RuleError("Choose an action: Extend, Convert, Suspend or Delete.", "action")
    if not rooms:
        raise RuleError("Select at least one room.", "ids")
    if len(rooms) > BULK_MAX:
        raise RuleError(f"At most {BULK_MAX:,} rooms at once; narrow the list with a search or filter.", "ids")
    out = {"done": 0, "skipped": 0, "first_paid": []}
    reason = clean_reason(reason)
    for i, room in enumerate(rooms, 1):
        try:
            if action == "extend":
                if room.status == RoomStatus.PAID:
                    out["skipped"] += 1
                else:
                    extend_room(room, data, reason)
                    out["done"] += 1
            elif action == "convert":
                if room.status == RoomStatus.PAID:
                    out["skipped"] += 1
                else:
                    if convert_room(room, reason):
                        out["first_paid"].append(room.company)
                    out["done"] += 1
            elif action == "suspend":
                if room.suspended:
                    out["skipped"] += 1
                else:
                    suspend_room(room, reason)
                    out["done"] += 1
            else:
                trash_room(room)  # each to the Trash, restorable on its own
                out["done"] += 1
        except RuleError as err:
            if err.status == 422:
                raise RuleError(f"{room.name}: {err.message} Nothing was changed.", err.field or "ids") from err
            raise
        if progress is not None:
            progress(i, len(rooms))
    return out


# ---------------------------------------------------------------- what Home and the list filters show


def month_start(day: date | None = None) -> date:
    return (day or today()).replace(day=1)


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _term_room():
    return and_(Room.status != RoomStatus.PAID, Room.end_date.is_not(None))


def ends_between(start: date | None, end: date | None):
    clause = _term_room()
    if start is not None:
        clause = and_(clause, Room.end_date >= start)
    if end is not None:
        clause = and_(clause, Room.end_date <= end)
    return clause


def ends_soon():
    """Ends today or in the next 7 days (and has not ended)."""
    return ends_between(today(), today() + timedelta(days=SOON_DAYS))


def ended():
    return and_(_term_room(), Room.end_date < today())


def ended_recently():
    return ends_between(today() - timedelta(days=SOON_DAYS), today() - timedelta(days=1))


def _month_range(month: date):
    from datetime import datetime

    return datetime.combine(month, datetime.min.time()), datetime.combine(_next_month(month), datetime.min.time())


def converted_in(month: date):
    """Rooms converted to paid subscriber in that month (from the history) and paid still."""
    start, end = _month_range(month)
    converted = (select(AuditEvent.object_id)
                 .where(AuditEvent.object_type == "Room", AuditEvent.action == "convert",
                        AuditEvent.at >= start, AuditEvent.at < end))
    return and_(Room.status == RoomStatus.PAID, Room.id.in_(converted))


def started_in(month: date):
    """Trial and demo rooms created in that month, including the ones converted since."""
    start, end = _month_range(month)
    made = and_(Room.created_at >= start, Room.created_at < end)
    return and_(made, (Room.status != RoomStatus.PAID) | converted_in(month))


def no_live_room():
    return ~exists().where(Room.company_id == Company.id, Room.live_clause())


def prospects_without_live_room():
    return and_(Company.status == CustomerStatus.PROSPECT, no_live_room())


def count_rooms(*where) -> int:
    return db.session.execute(select(func.count(Room.id)).where(*where)).scalar() or 0


def home_summary(limit: int = 50) -> dict:
    """Home: everything in the signed-in person's scope (the tenant hook filters every query)."""
    month = month_start()
    rows = lambda clause: db.session.execute(  # noqa: E731
        select(Room).where(clause).order_by(Room.end_date, Room.id).limit(limit)).scalars().all()
    prospects = db.session.execute(
        select(Company).where(prospects_without_live_room()).order_by(Company.name_key).limit(limit)
    ).scalars().all()
    return {
        "month": month,
        "ending": rows(ends_soon()),
        "ending_count": count_rooms(ends_soon()),
        "ended": rows(ended_recently()),
        "ended_count": count_rooms(ended_recently()),
        "started_count": count_rooms(started_in(month)),
        "converted_count": count_rooms(converted_in(month)),
        "prospects": prospects,
        "prospects_count": db.session.execute(
            select(func.count(Company.id)).where(prospects_without_live_room())).scalar() or 0,
    }
