"""The Trash: a delete moves the object, and everything that goes with it, here; Restore puts it back.

Deleting a company, contact or room (and unlinking a Host) writes a TrashItem with a snapshot of the
rows it removes (models/snapshot.py), the audit event, and the delete itself, in one transaction.
Restore inserts the rows again with their original ids, so the links, the owner flags and the
contact's company are exactly as they were. The rows are out of the live tables meanwhile, so the
uniqueness rules (company names, emails, meeting links) see only live rows; a restore that would
collide says so, field by field, and takes a new value for each (``RestoreConflict``).

A trashed contact cannot sign in (their row is gone), their queued mail is cancelled and their
password links are deleted; a restored one starts with a new session generation, so a cookie from
before the delete stays dead. ``purge`` removes what is older than TRASH_DAYS (cron: idempotent).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, g, has_app_context, has_request_context
from flask_login import current_user
from sqlalchemy import delete, select, update

from extensions import db

from . import snapshot as snap
from .audit import actor_id, audit, removed
from .companies import describe_impact
from .conflicts import guarded, lock
from .contacts import _unlink_all, contact_delete_blocker, contact_rooms, email_taken
from .errors import RuleError
from .hosting import unlink
from .rooms import SLUG_RE, slug_taken, unique_slug
from .rules import clean_email, clean_name
from .schema import (Company, CompanyType, Contact, Hosting, OutboxMessage, PasswordToken, ProductType, Room,
                     utcnow)
from .trash_schema import TrashItem

TRASH_DAYS_DEFAULT = 30
MODELS = {"company": Company, "contact": Contact, "room": Room, "link": Room}


def trash_days() -> int:
    return int(current_app.config.get("TRASH_DAYS", TRASH_DAYS_DEFAULT)) if has_app_context() else TRASH_DAYS_DEFAULT


def restorable_since():
    return utcnow() - timedelta(days=trash_days())


def _actor_name() -> str:
    if has_request_context():
        user = g.get("real_user") or current_user
        if user is not None and getattr(user, "is_authenticated", False):
            return user.name
    return "the command line"


def _person(row: dict) -> str:
    return f"{row['first_name']} {row['last_name']}".strip() + f" <{row['email']}>"


def _plural(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _links(hostings: list[dict], people: dict[int, str], rooms: dict[int, str]) -> list[str]:
    return [f"{people.get(h['contact_id'], 'a contact')} on {rooms.get(h['room_id'], 'a room')}"
            + (" (owner)" if h["is_owner"] else "") for h in hostings]


def _item(kind, obj_id, reseller_id, company_id, label, details, rows: dict) -> TrashItem:
    item = TrashItem(kind=kind, object_id=obj_id, reseller_id=reseller_id, company_id=company_id, label=label[:300],
                     details=details, deleted_at=utcnow(), deleted_by=actor_id(), deleted_by_name=_actor_name()[:300],
                     snapshot=snap.dumps(rows), **snap.tops(rows))
    db.session.add(item)
    return item


def _end_access(contacts: list[dict]) -> None:
    """Trashed contacts: their password links die and their queued mail is cancelled."""
    if not contacts:
        return
    ids = [c["id"] for c in contacts]
    db.session.execute(delete(PasswordToken).where(PasswordToken.contact_id.in_(ids)))
    emails = {c["email"].lower() for c in contacts}
    queued = db.session.execute(
        select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
    ).scalars().all()
    for msg in queued:
        recipients = [r.strip() for r in msg.recipients.split(",") if r.strip()]
        keep = [r for r in recipients if r.lower() not in emails]
        if len(keep) == len(recipients):
            continue
        if keep:
            msg.recipients = ", ".join(keep)
        else:
            db.session.delete(msg)


# ---------------------------------------------------------------- moving to the Trash


@guarded
def trash_company(company: Company) -> TrashItem:
    lock(company)  # 404 when someone else deleted it first
    if company.type == CompanyType.RESELLER:
        raise RuleError("The reseller's own company cannot be deleted.")
    cid = company.id
    contacts = snap.rows(Contact, Contact.company_id == cid)
    rooms = snap.rows(Room, Room.company_id == cid)
    hostings = snap.rows(Hosting, Hosting.company_id == cid)
    rows = snap.capture(companies=snap.rows(Company, Company.id == cid), contacts=contacts, rooms=rooms,
                        hostings=hostings)
    people = {c["id"]: _person(c) for c in contacts}
    links = _links(hostings, {c["id"]: f"{c['first_name']} {c['last_name']}".strip() for c in contacts},
                   {r["id"]: r["name"] for r in rooms})
    impact = {"contacts": len(contacts), "rooms": len(rooms)}
    audit("delete", company, f"Deleted company {company.name} with {describe_impact(impact)}",
          removed(company, {"contacts": list(people.values()), "rooms": [r["name"] for r in rooms],
                            "host links": links}))
    parts = [_plural(len(contacts), "contact") + (f" ({', '.join(people.values())})" if contacts else ""),
             _plural(len(rooms), "room") + (f" ({', '.join(r['name'] for r in rooms)})" if rooms else ""),
             _plural(len(hostings), "host link")]
    item = _item("company", cid, company.reseller_id, cid, company.name, "; ".join(parts), rows)
    _end_access(contacts)
    # Children first, so the same code works whether or not the database cascades.
    db.session.execute(Hosting.__table__.delete().where(Hosting.company_id == cid))
    db.session.execute(Room.__table__.delete().where(Room.company_id == cid))
    db.session.execute(Contact.__table__.delete().where(Contact.company_id == cid))
    db.session.delete(company)
    db.session.flush()
    item.impact = impact
    return item


@guarded
def trash_contact(contact: Contact) -> TrashItem:
    lock(contact)  # 404 when someone else deleted it first
    blocker = contact_delete_blocker(contact)
    if blocker:
        raise RuleError(blocker)
    rooms = contact_rooms(contact)
    hostings = snap.rows(Hosting, Hosting.contact_id == contact.id)
    row = snap.rows(Contact, Contact.id == contact.id)
    impact = {"hosts": len(hostings)}
    name, email = contact.name, contact.email
    audit("delete", contact, f"Deleted contact {name} with {describe_impact(impact)}",
          removed(contact, {"company": contact.company.name if contact.company else None,
                            **({"hosted rooms": [r.name for r in rooms]} if rooms else {})}))
    details = f"host of {', '.join(r.name for r in rooms)}" if rooms else "no room links"
    item = _item("contact", contact.id, contact.reseller_id, contact.company_id, f"{name} ({email})", details,
                 snap.capture(contacts=row, hostings=hostings))
    _end_access(row)
    _unlink_all(contact, rooms)  # ownership of a team room passes on, as on Unlink
    db.session.delete(contact)
    db.session.flush()
    item.impact = impact
    return item


@guarded
def trash_room(room: Room) -> TrashItem:
    lock(room)  # 404 when someone else deleted it first; its Hosts as they are now
    hostings = snap.rows(Hosting, Hosting.room_id == room.id)
    people = {h.contact_id: h.contact for h in room.hostings}
    hosts = [f"{people[h['contact_id']].name} <{people[h['contact_id']].email}>" + (" (owner)" if h["is_owner"] else "")
             for h in hostings if h["contact_id"] in people]
    impact = {"hosts": len(hostings)}
    audit("delete", room, f"Deleted room {room.name}", removed(room, {"company": room.company.name, "hosts": hosts}))
    item = _item("room", room.id, room.reseller_id, room.company_id, room.name,
                 f"Hosts: {', '.join(hosts)}" if hosts else "no Hosts",
                 snap.capture(rooms=snap.rows(Room, Room.id == room.id), hostings=hostings))
    # Through the ORM: the loaded Hosting objects would otherwise be "orphaned" and
    # nulled on flush (StaleDataError once a Core delete has removed their rows).
    for hosting in list(room.hostings):
        db.session.delete(hosting)
    db.session.flush()
    db.session.delete(room)
    db.session.flush()
    item.impact = impact
    return item


@guarded
def trash_link(room: Room, contact: Contact) -> TrashItem:
    """Unlink a Host, keeping the link (and whether they owned the room) for Undo."""
    lock(room)
    hosting = snap.rows(Hosting, Hosting.room_id == room.id, Hosting.contact_id == contact.id)
    summary = unlink(room, contact)  # refuses when they are not a Host; audits the unlink
    item = _item("link", room.id, room.reseller_id, room.company_id, f"{contact.name} on {room.name}",
                 "owner of the room" if hosting and hosting[0]["is_owner"] else "Host",
                 snap.capture(hostings=hosting))
    db.session.flush()
    item.summary = summary
    return item


def delete_company(company: Company) -> dict:
    return trash_company(company).impact


def delete_contact(contact: Contact) -> dict:
    return trash_contact(contact).impact


def delete_room(room: Room) -> dict:
    return trash_room(room).impact


# ---------------------------------------------------------------- restoring


@dataclass
class Collision:
    field: str  # the form field that takes the new value
    label: str  # its label
    message: str  # why the old value cannot be used now
    value: str  # a suggestion (or the old value)


class RestoreConflict(RuleError):
    """The restore would take a name, email or meeting link that is in use now: one Collision per field."""

    def __init__(self, collisions: list[Collision]):
        super().__init__("This cannot be restored as it was: " + " ".join(c.message for c in collisions), "_form", 422)
        self.collisions = collisions


def _exists(model, ident) -> object | None:
    return db.session.execute(select(model).where(model.id == ident).execution_options(unscoped=True)).scalar_one_or_none()


def _check_names(rows: dict, renames: dict, reseller_id: int) -> list[Collision]:
    """Apply the renames to the rows and list what still collides (the rows change in place)."""
    out = []
    for company in rows["companies"]:
        wanted = renames.get("name")
        if wanted is not None:
            company["name"] = clean_name(wanted)
            company["name_key"] = company["name"].lower()
        taken = db.session.execute(select(Company.id).where(
            Company.reseller_id == reseller_id, Company.name_key == company["name_key"]
        ).execution_options(unscoped=True)).first()
        if taken:
            out.append(Collision("name", "New company name",
                                 f"A company named “{company['name']}” exists now (names ignore case); "
                                 "give this one a new name.", company["name"]))
    for contact in rows["contacts"]:
        field = f"email_{contact['id']}"
        if renames.get(field) is not None:
            try:
                contact["email"] = clean_email(renames[field])
            except RuleError as err:
                raise RuleError(err.message, field)
        if email_taken(contact["email"]):
            name = f"{contact['first_name']} {contact['last_name']}".strip()
            out.append(Collision(field, f"New email for {name}",
                                 f"The email {contact['email']} cannot be used now; give {name} another.",
                                 contact["email"]))
    for room in rows["rooms"]:
        field = f"slug_{room['id']}"
        if renames.get(field) is not None:
            wanted = (renames[field] or "").strip().lower()
            if not wanted or len(wanted) > 60 or not SLUG_RE.match(wanted):
                raise RuleError("Meeting link may use a–z, 0–9 and single hyphens, up to 60 characters.", field)
            room["slug"] = wanted
        if slug_taken(room["slug"]):
            out.append(Collision(field, f"New meeting link for {room['name']}",
                                 f"The meeting link {room['slug']} of {room['name']} cannot be used now.",
                                 unique_slug(room["slug"])))
    return out


def _parent_company(item: TrashItem) -> Company:
    company = _exists(Company, item.company_id)
    if company is None:
        raise RuleError(f"Its company is in the Trash (or gone). Restore the company first, then this {item.kind}.",
                        status=409)
    return company


def _fit_links(rows: dict, item: TrashItem) -> list[str]:
    """Keep the hosting links that can come back as they were; name the ones that cannot."""
    kept, skipped = [], []
    new_contacts = {c["id"] for c in rows["contacts"]}
    new_rooms = {r["id"]: r for r in rows["rooms"]}
    for h in rows["hostings"]:
        room = new_rooms.get(h["room_id"]) or _exists(Room, h["room_id"])
        contact_ok = h["contact_id"] in new_contacts or (
            (c := _exists(Contact, h["contact_id"])) is not None and c.company_id == h["company_id"])
        if isinstance(room, Room):
            hosts = db.session.execute(select(Hosting).where(Hosting.room_id == room.id)
                                       .execution_options(unscoped=True)).scalars().all()
            ok = (contact_ok and room.company_id == h["company_id"]
                  and not any(x.contact_id == h["contact_id"] for x in hosts)
                  and not (room.product_type == ProductType.PERSONAL and hosts))
            if ok:
                h["room_type"] = room.product_type
                h["is_owner"] = h["is_owner"] or not hosts or room.product_type == ProductType.PERSONAL
                if h["is_owner"] and hosts:
                    # they owned it before the delete: ownership comes back to them
                    db.session.execute(update(Hosting).where(Hosting.room_id == room.id).values(is_owner=False)
                                       .execution_options(synchronize_session=False))
            name = room.name
        else:
            ok = room is not None and contact_ok
            name = room["name"] if room else "a room that is gone"
        (kept if ok else skipped).append((h, name))
    rows["hostings"] = [h for h, _ in kept]
    return [name for _, name in skipped]


@guarded
def restore(item: TrashItem, renames: dict | None = None) -> str:
    """Put the item's rows back with their original ids. Returns what happened, in one sentence."""
    if item.deleted_at < restorable_since():
        raise RuleError(f"{item.label} was deleted more than {trash_days()} days ago and can no longer be restored.",
                        status=410)
    rows = snap.loads(item.snapshot)
    if item.kind != "company":
        _parent_company(item)
    collisions = _check_names(rows, {k: v for k, v in (renames or {}).items() if v not in (None, "")},
                              item.reseller_id)
    if collisions:
        raise RestoreConflict(collisions)
    for name, (model, _col) in snap.TABLES.items():
        if name == "hostings" and item.kind != "company":
            continue
        for row in rows[name]:
            if _exists(model, row["id"]) is not None:
                raise RuleError(f"{item.label} cannot be restored: something else holds its place now.", status=409)
    if item.kind == "link":
        contact = _exists(Contact, rows["hostings"][0]["contact_id"]) if rows["hostings"] else None
        if contact is None or _exists(Room, item.object_id) is None:
            raise RuleError(f"The contact or the room of {item.label} is no longer there.", status=409)
    skipped = _fit_links(rows, item) if item.kind != "company" else []
    if item.kind == "link" and skipped:
        raise RuleError(f"{item.label} cannot be linked again as it was: the room's Hosts changed meanwhile.",
                        status=409)
    for contact in rows["contacts"]:
        contact["session_epoch"] = (contact.get("session_epoch") or 0) + 1  # sessions from before stay ended
    # Spend the item first: two restores at once cannot both put the rows back.
    gone = db.session.execute(delete(TrashItem).where(TrashItem.id == item.id)
                              .execution_options(synchronize_session=False))
    if gone.rowcount != 1:
        raise RuleError(f"{item.label} was restored or purged meanwhile.", status=404)
    kind, label, details, object_id, kind_label = item.kind, item.label, item.details, item.object_id, item.kind_label
    db.session.expunge(item)  # its row is gone
    snap.put_back(rows)
    db.session.flush()
    db.session.expire_all()
    obj = _exists(MODELS[kind], object_id)
    message = f"Restored {kind_label.lower()} {label}"
    if skipped:
        message += f"; not linked again to {', '.join(skipped)} (its Hosts changed meanwhile)"
    audit("restore", obj, message, {"restored": details, "renamed": {k: v for k, v in (renames or {}).items() if v}})
    return message


# ---------------------------------------------------------------- purge and listing


def _stand_in(item: TrashItem):
    """The deleted object for the audit trail (its type, id and reseller), which no longer exists."""
    return MODELS[item.kind](id=item.object_id, reseller_id=item.reseller_id)


def purge() -> int:
    """Remove what was deleted more than TRASH_DAYS ago, each with its audit event. Run it as often as you
    like: what is left is never old enough. The caller commits (one transaction)."""
    cutoff = restorable_since()
    items = db.session.execute(select(TrashItem).where(TrashItem.deleted_at < cutoff).order_by(TrashItem.id)
                               .execution_options(unscoped=True)).scalars().all()
    for item in items:
        stand_in = _stand_in(item)
        audit("purge", stand_in, f"Purged {item.kind_label.lower()} {item.label} from the Trash "
              f"(deleted {item.deleted_at:%Y-%m-%d} by {item.deleted_by_name})", {"details": item.details},
              company_id=item.company_id)
        db.session.delete(item)
    db.session.flush()
    return len(items)


def trash_items(limit: int = 200) -> list[TrashItem]:
    """What the signed-in person may restore (the tenant hook scopes it), newest first."""
    return list(db.session.execute(
        select(TrashItem).where(TrashItem.deleted_at >= restorable_since())
        .order_by(TrashItem.deleted_at.desc(), TrashItem.id.desc()).limit(limit)
    ).scalars())
