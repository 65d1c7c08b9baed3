"""Hosting: which contacts host which rooms, the owner of a team room, and personal rooms."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db

from .audit import audit
from .conflicts import guarded, lock
from .errors import RuleError
from .rooms import create_room, keep_terms
from .schema import NAME_MAX, Contact, Hosting, ProductType, Room, RoomStatus

# Every change to a room's Hosts first locks the room's row (conflicts.lock) and then
# decides on the Hosts as they are now. Two changes at once (unlinking the owner while
# another Host is unlinked) then run one after the other, so a team room with Hosts
# always keeps exactly one owner, and a personal room never gets a second Host.


def linkable_contacts(room: Room) -> list[Contact]:
    """This company's contacts who are not yet Hosts of the room (link() refuses everyone else)."""
    linked = select(Hosting.contact_id).where(Hosting.room_id == room.id)
    return list(
        db.session.execute(
            select(Contact)
            .where(Contact.company_id == room.company_id, Contact.id.not_in(linked))
            .order_by(Contact.last_name, Contact.first_name)
        ).scalars()
    )


def linkable_rooms(contact: Contact) -> list[Room]:
    """Rooms of the contact's company they do not host yet (personal rooms only while free)."""
    linked = select(Hosting.room_id).where(Hosting.contact_id == contact.id)
    taken_personal = select(Hosting.room_id).where(Hosting.room_type == ProductType.PERSONAL)
    return list(
        db.session.execute(
            select(Room)
            .where(Room.company_id == contact.company_id, Room.id.not_in(linked), Room.id.not_in(taken_personal))
            .order_by(Room.name_key)
        ).scalars()
    )


@guarded
def link(room: Room, contact: Contact) -> Hosting:
    lock(room)
    if contact.company_id != room.company_id:
        raise RuleError(
            f"{contact.name} is a contact of {contact.company.name if contact.company else 'another company'}, "
            f"but {room.name} belongs to {room.company.name}. A room can only be linked to contacts of its own company.",
            "contact_id",
        )
    if any(h.contact_id == contact.id for h in room.hostings):
        raise RuleError(f"{contact.name} is already a Host of {room.name}.", "contact_id")
    if room.product_type == ProductType.PERSONAL and room.hostings:
        raise RuleError(
            f"{room.name} is a personal room and already has its Host, {room.hostings[0].contact.name}. "
            "A personal room has at most one Host. Unlink them first, or use a team room.",
            "contact_id",
        )
    hosting = Hosting(
        reseller_id=room.reseller_id,
        company_id=room.company_id,
        room=room,
        room_id=room.id,
        contact=contact,
        contact_id=contact.id,
        room_type=room.product_type,
        is_owner=not room.hostings,  # the first Host linked becomes the owner
    )
    db.session.add(hosting)
    db.session.flush()
    changes = {"host": [None, contact.name]}
    if hosting.is_owner and room.product_type == ProductType.TEAM:
        changes["owner"] = [None, contact.name]
    audit("link", room, f"Linked {contact.name} to {room.name}", changes, related=contact)
    return hosting


def _unlink(room: Room, contact: Contact) -> None:
    """Remove the link; the caller has locked the room."""
    hosting = next((h for h in room.hostings if h.contact_id == contact.id), None)
    if hosting is None:
        raise RuleError(f"{contact.name} is not a Host of {room.name}.", "contact_id")
    was_owner = hosting.is_owner
    room.hostings.remove(hosting)
    db.session.delete(hosting)
    db.session.flush()
    if was_owner and room.hostings:
        # ownership passes to the longest-linked remaining Host
        room.hostings[0].is_owner = True
        db.session.flush()


@guarded
def unlink(room: Room, contact: Contact) -> str:
    """Unlink a Host. Returns what happened in one sentence (it names the new owner if ownership moved)."""
    lock(room)
    was_owner = any(h.is_owner and h.contact_id == contact.id for h in room.hostings)
    _unlink(room, contact)
    new_owner = room.owner if was_owner else None
    summary = f"Unlinked {contact.name} from {room.name}" + (f"; {new_owner.name} is now the owner" if new_owner else "")
    changes = {"host": [contact.name, None]}
    if new_owner:
        changes["owner"] = [contact.name, new_owner.name]
    audit("unlink", room, summary, changes, related=contact)
    return summary


@guarded
def make_owner(room: Room, contact: Contact) -> None:
    lock(room)
    if room.product_type != ProductType.TEAM:
        raise RuleError("Only a team room has a designated owner; a personal room's one Host edits it.")
    target = next((h for h in room.hostings if h.contact_id == contact.id), None)
    if target is None:
        raise RuleError(f"{contact.name} is not a Host of {room.name}. Link them first.")
    if target.is_owner:
        return
    old = room.owner
    for h in room.hostings:
        if h.is_owner:
            h.is_owner = False
    db.session.flush()  # the partial unique index allows one owner at a time
    target.is_owner = True
    db.session.flush()
    audit("make_owner", room, f"{contact.name} is now the owner of {room.name}",
          {"owner": [old.name if old else None, contact.name]}, related=contact)


@guarded
def give_personal_room(room: Room, contact: Contact, may_set_terms: bool = False) -> Room:
    """Create a personal room for a team room's Host and unlink them from the team room, in one step.

    The new room has the team room's status and end date only when the actor may set
    commercial terms (``may_set_terms``: reseller staff). Otherwise it starts as a trial,
    like any room an Owner creates, so linking a contact to a paid team room and giving
    them a personal room cannot make a paid room.
    """
    lock(room)
    if room.product_type != ProductType.TEAM:
        raise RuleError("Give personal room applies to a Host of a team room.")
    if not any(h.contact_id == contact.id for h in room.hostings):
        raise RuleError(f"{contact.name} is not a Host of {room.name}.")
    name = f"{contact.name}'s room"
    if len(name) > NAME_MAX:
        name = f"{contact.name[:NAME_MAX - 7].rstrip()}'s room"
    data = {"name": name, "product_type": ProductType.PERSONAL, "status": room.status}
    if not may_set_terms:
        data = keep_terms(None, data)
    personal = create_room(room.company, data)
    if may_set_terms and room.status != RoomStatus.PAID:
        personal.end_date = room.end_date
    unlink(room, contact)
    link(personal, contact)
    return personal
