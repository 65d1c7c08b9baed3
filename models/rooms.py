"""Meeting rooms: create, edit, settings, commercial terms and delete."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, timedelta
from functools import wraps

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from extensions import db

from .audit import apply_changes, audit, check_version, created
from .conflicts import SLUG_REFUSED, guarded
from .errors import RuleError
from .rules import clean_choice, clean_name, clean_int
from .schema import PRODUCT_TYPES, ROOM_STATUSES, Company, ProductType, Reseller, Room, RoomStatus, today

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


def slugify(value: str) -> str:
    value = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode()
    value = re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-")
    return value[:60].strip("-") or "room"


def unique_slug(base: str, exclude_id: int | None = None) -> str:
    """``base``, or ``base-2``, ``base-3``… : the first meeting link nobody has (a valid slug when base is)."""
    candidate, n = base, 1
    while slug_taken(candidate, exclude_id):
        n += 1
        candidate = f"{base[:55].rstrip('-')}-{n}"
    return candidate


def slug_taken(slug: str, exclude_id: int | None = None) -> bool:
    stmt = select(Room.id).where(Room.slug == slug)
    if exclude_id:
        stmt = stmt.where(Room.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def slug_refused(slug: str, exclude_id: int | None = None) -> RuleError:
    """A taken meeting link, in the same words whoever has it (this tenant or another): a free one to try."""
    return RuleError(f"{SLUG_REFUSED} Try {unique_slug(slug, exclude_id)}.", "slug")


def check_slug(slug: str, exclude_id: int | None = None) -> str:
    """A typed meeting link: well formed and nobody's, or RuleError (the save's words; the inline check's too).
    Empty is fine: a new room's link is then made from its name, an edited room keeps its own."""
    slug = (slug or "").strip().lower()
    if slug:
        if len(slug) > 60 or not SLUG_RE.match(slug):
            raise RuleError("Meeting link may use a–z, 0–9 and single hyphens, up to 60 characters.", "slug")
        if slug_taken(slug, exclude_id):
            raise slug_refused(slug, exclude_id)
    return slug


def _suggest_free_slug(write):
    """Outside ``guarded``: when the slug's unique key refused the write (another request took the link
    between the check and the save), answer as the check does, with a free link to try."""

    @wraps(write)
    def wrapper(obj, data: dict):
        exclude = obj.id if isinstance(obj, Room) else None
        try:
            return write(obj, data)
        except RuleError as err:
            if err.field != "slug" or not isinstance(err.__cause__, IntegrityError):
                raise
            wanted = (data.get("slug") or "").strip().lower() or slugify(data.get("name") or "")
            raise slug_refused(wanted, exclude) from err

    return wrapper


def end_date_for(status: str, reseller: Reseller, start: date | None = None) -> date | None:
    start = start or today()
    if status == RoomStatus.TRIAL:
        return start + timedelta(days=reseller.trial_days)
    if status == RoomStatus.DEMO:
        return start + timedelta(days=reseller.demo_days)
    return None


def _room_fields(data: dict, room: Room | None = None) -> dict:
    name = clean_name(data.get("name"))
    fields = {
        "name": name,
        "name_key": name.lower(),
        "product_type": clean_choice(data.get("product_type"), PRODUCT_TYPES, "product_type", "Product type"),
        "status": clean_choice(data.get("status"), ROOM_STATUSES, "status", "Status"),
        "max_participants": clean_int(data.get("max_participants"), "max_participants", "Max participants", 2, 1000,
                                       room.max_participants if room else 25),
        "lobby": bool(data.get("lobby")),
        "recording": bool(data.get("recording")),
        "suspended": bool(data.get("suspended")),
    }
    pin = (data.get("pin") or "").strip() or None
    if pin and not re.fullmatch(r"[0-9]{4,10}", pin):
        raise RuleError("PIN must be 4 to 10 digits, or empty for none.", "pin")
    fields["pin"] = pin
    slug = (data.get("slug") or "").strip().lower()
    exclude = room.id if room else None
    if slug:
        fields["slug"] = check_slug(slug, exclude)
    elif room is None:
        fields["slug"] = unique_slug(slugify(name))
    end = data.get("end_date")
    if end not in (None, ""):
        if isinstance(end, str):
            try:
                end = date.fromisoformat(end)
            except ValueError:
                raise RuleError("End date must be a date like 2026-12-31.", "end_date")
        start = room.created_at.date() if room is not None and room.created_at else today()
        if end < start:
            raise RuleError(f"End date cannot be before the room was created ({start.isoformat()}).", "end_date")
        fields["end_date"] = end
    return fields


@_suggest_free_slug
@guarded
def create_room(company: Company, data: dict) -> Room:
    fields = _room_fields(data)
    if fields["status"] != RoomStatus.PAID and "end_date" not in fields:
        fields["end_date"] = end_date_for(fields["status"], company.reseller)
    if fields["status"] == RoomStatus.PAID:
        fields.pop("end_date", None)
    room = Room(company_id=company.id, reseller_id=company.reseller_id, **fields)
    db.session.add(room)
    db.session.flush()
    audit("create", room, f"Created {room.product_type} {room.name} in {company.name}",
          {"company": [None, company.name], **created(room)})
    return room


@_suggest_free_slug
@guarded
def update_room(room: Room, data: dict) -> Room:
    fields = _room_fields(data, room)
    if fields["product_type"] != room.product_type and fields["product_type"] == ProductType.PERSONAL:
        if len(room.hostings) > 1:
            raise RuleError(
                f"A personal room has at most one Host, and this room has {len(room.hostings)}. "
                "Unlink Hosts until one is left, then change the type.",
                "product_type",
            )
    if fields["status"] == RoomStatus.PAID:
        fields["end_date"] = None
    elif "end_date" not in fields and (room.end_date is None or fields["status"] != room.status):
        fields["end_date"] = end_date_for(fields["status"], room.company.reseller)
    diff = apply_changes(room, fields)
    diff.pop("name_key", None)
    if diff:
        if "product_type" in diff and room.hostings:
            # the single remaining host of a personal room is its owner
            for h in room.hostings:
                h.room_type = room.product_type
            room.hostings[0].is_owner = True
        db.session.flush()
        audit("update", room, f"Edited room {room.name}", diff)
    return room


ROOM_SETTINGS = ("slug", "max_participants", "pin", "lobby", "recording")


@guarded
def update_room_settings(room: Room, data: dict) -> Room:
    """Only the room's settings (what a Host who may edit the room changes); the rest stays as it is."""
    current = {"name": room.name, "product_type": room.product_type, "status": room.status,
               "suspended": room.suspended}
    settings = {key: data.get(key) for key in ROOM_SETTINGS}
    if not settings["slug"]:
        settings["slug"] = room.slug
    return update_room(room, {**current, **settings})


def keep_terms(obj, data) -> dict:
    """``data`` with the commercial terms of ``obj`` kept as they are (a new room starts as a trial)."""
    out = dict(data.items())
    if isinstance(obj, Company):
        out.update(status=obj.status, branded=obj.branded)
    elif isinstance(obj, Room):
        out.update(status=obj.status, end_date=obj.end_date or "", suspended=obj.suspended)
    else:
        out.update(status=RoomStatus.TRIAL, end_date="", suspended="")
    return out


def save_edit(obj, form, update, may_set_terms: bool):
    """Save an edit form through ``update``: refused when stale (its version), and the commercial terms
    come from the form only when the editor may set them."""
    check_version(obj, form.get("version"))
    return update(obj, form if may_set_terms else keep_terms(obj, form))


def room_delete_impact(room: Room) -> dict:
    return {"hosts": len(room.hostings)}


def saved_message(room: Room, old_slug: str) -> str:
    """The toast after a save; a changed meeting link says that the old one no longer works."""
    message = f"Saved room {room.name}"
    if room.slug != old_slug:
        message += f". The old link /meet/{old_slug} no longer works: share /meet/{room.slug}."
    return message
