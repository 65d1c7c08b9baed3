"""Contacts: the people in a company, who are also the logins."""
from __future__ import annotations

import re
from functools import lru_cache

from sqlalchemy import bindparam, func, select

from extensions import db

from .audit import actor_id, apply_changes, audit, created
from .conflicts import EMAIL_REFUSED, guarded, lock
from .errors import RuleError
from .hosting import _unlink
from .passwords import expire_password_links, send_password_link
from .rules import clean_choice, clean_email, clean_name
from .schema import CONTACT_STATES, Company, CompanyType, Contact, ContactState, Hosting, Role, Room

def email_taken(email: str, exclude_id: int | None = None) -> bool:
    """Whether any contact of the whole portal has this email (it is the login, so unique everywhere)."""
    stmt = select(Contact.id).where(Contact.email == email)
    if exclude_id:
        stmt = stmt.where(Contact.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def _visible_holder(email: str, exclude_id: int | None) -> str | None:
    """The contact with this email that the signed-in person may see (the tenant hook decides), by name."""
    stmt = (select(Contact.first_name, Contact.last_name, Company.name)
            .join(Company, Contact.company_id == Company.id, isouter=True).where(Contact.email == email))
    if exclude_id:
        stmt = stmt.where(Contact.id != exclude_id)
    row = db.session.execute(stmt).first()
    if row is None:
        return None
    name = f"{row[0]} {row[1]}".strip()
    return f"{name} of {row[2]}" if row[2] else name


def clean_contact_email(value: str | None, exclude_id: int | None = None) -> str:
    """A contact's email: valid and used by no other contact anywhere, or RuleError.

    Emails are unique in the whole portal, but whether one is in use in another tenant is not
    this person's to know. A contact they may see is named (it is in their own list anyway);
    every other refusal of a typed address, invalid or in use elsewhere, is the one neutral
    EMAIL_REFUSED. Both lookups run whatever the address, valid or not, so a refusal takes the
    same work either way.
    """
    try:
        email, refusal = clean_email(value), None
    except RuleError as err:
        # "" is no one's email: the lookups below still run, on a value that cannot match
        email, refusal = "", (err if not (value or "").strip() else RuleError(EMAIL_REFUSED, "email"))
    taken = email_taken(email, exclude_id)
    holder = _visible_holder(email, exclude_id)
    if refusal is not None:
        raise refusal
    if holder is not None:
        raise RuleError(f"The email {email} is already in use by {holder} (emails are the login, so they are unique).",
                        "email")
    if taken:
        raise RuleError(EMAIL_REFUSED, "email")
    return email


def _clean_phone(value: str | None) -> str | None:
    phone = (value or "").strip() or None
    if phone and not re.fullmatch(r"[0-9+()\-. ]{3,40}", phone):
        raise RuleError("Phone may contain digits, spaces and + ( ) - . only.", "phone")
    return phone


def _contact_fields(data: dict, exclude_id: int | None = None) -> dict:
    """The contact's fields, clean, or the first refusal (email, phone, first name, last name).
    Every field is checked before one refusal is raised: the email's lookups always run."""
    checks = {
        "email": lambda: clean_contact_email(data.get("email"), exclude_id),
        "phone": lambda: _clean_phone(data.get("phone")),
        "first_name": lambda: clean_name(data.get("first_name"), "first_name", "First name"),
        "last_name": lambda: clean_name(data.get("last_name"), "last_name", "Last name"),
    }
    fields, refusals = {}, []
    for key, check in checks.items():
        try:
            fields[key] = check()
        except RuleError as err:
            refusals.append(err)
    if refusals:
        raise refusals[0]
    return {key: fields[key] for key in ("first_name", "last_name", "email", "phone")}


@guarded
def create_contact(company: Company, data: dict, roles=(), welcome: bool = True) -> Contact:
    """A new contact; ``welcome`` mails them a link to set their password."""
    contact = Contact(company_id=company.id, reseller_id=company.reseller_id, state=ContactState.LIVE, **_contact_fields(data))
    contact.roles = roles
    db.session.add(contact)
    db.session.flush()
    audit("create", contact, f"Created contact {contact.name} in {company.name}",
          {"company": [None, company.name], **created(contact)})
    if welcome:
        send_password_link(contact, "welcome")
    return contact


@guarded
def update_contact(contact: Contact, data: dict) -> Contact:
    fields = _contact_fields(data, contact.id)
    if "state" in data:
        fields["state"] = clean_choice(data.get("state"), CONTACT_STATES, "state", "State")
        if fields["state"] == ContactState.SUSPENDED and contact.state != ContactState.SUSPENDED and contact.id == actor_id():
            raise RuleError("You cannot suspend your own account; it would sign you out.", "state")
    diff = apply_changes(contact, fields)
    if diff:
        if "state" in diff and contact.state == ContactState.SUSPENDED:
            contact.session_epoch += 1
        if "email" in diff or ("state" in diff and contact.state == ContactState.SUSPENDED):
            # a link sent to the old address (or before the suspension) must not set the password now
            expire_password_links(contact)
        db.session.flush()
        audit("update", contact, f"Edited contact {contact.name}", diff)
    return contact


def contact_rooms(contact: Contact) -> list[Room]:
    return list(
        db.session.execute(
            select(Room).join(Hosting, Hosting.room_id == Room.id).where(Hosting.contact_id == contact.id).order_by(Room.name_key)
        ).scalars()
    )


def rooms_by_contact(contact_ids) -> dict[int, list[tuple[Room, bool]]]:
    """The rooms each contact hosts, with their owner flag, in one query (for a page of contacts)."""
    ids = list(contact_ids)
    out: dict[int, list[tuple[Room, bool]]] = {i: [] for i in ids}
    if not ids:
        return out
    for contact_id, is_owner, room in db.session.execute(_rooms_by_contact_statement(), {"ids": ids}):
        out[contact_id].append((room, is_owner))
    return out


@lru_cache(maxsize=1)
def _rooms_by_contact_statement():
    return (select(Hosting.contact_id, Hosting.is_owner, Room).join(Room, Hosting.room_id == Room.id)
            .where(Hosting.contact_id.in_(bindparam("ids", expanding=True))).order_by(Room.name_key, Room.id))


def change_company_impact(contact: Contact, company: Company) -> list[Room]:
    """The room links that Change company removes: every link in the old company."""
    if company.id == contact.company_id:
        return []
    return contact_rooms(contact)


def change_company_check(contact: Contact, company: Company) -> None:
    """Raise RuleError when the contact cannot move there (also shown before the move is confirmed)."""
    if company.reseller_id != contact.reseller_id:
        raise RuleError("A contact can only move to another company of the same reseller.", "company_id", 404)
    if company.id == contact.company_id:
        raise RuleError(f"{contact.name} is already in {company.name}.", "company_id")
    if contact.has_role(Role.RESELLER) and company.type != CompanyType.RESELLER:
        raise RuleError("Reseller staff belong to the reseller's own company.", "company_id")
    if contact.has_role(Role.OWNER) and company.type == CompanyType.RESELLER:
        # as set_roles: an Owner of the reseller's own company would manage the reseller's staff
        raise RuleError(
            f"{contact.name} is an Owner of {contact.company.name if contact.company else 'their company'}. "
            "The Owner role is for contacts of a customer company: make them a Host again first, then move them.",
            "company_id",
        )


@guarded
def change_company(contact: Contact, company: Company) -> list[Room]:
    lock(contact)  # its roles and links as they are now, and no role change while it moves
    change_company_check(contact, company)
    removed = change_company_impact(contact, company)
    _unlink_all(contact, removed)
    db.session.flush()
    old = contact.company
    contact.company_id = company.id
    db.session.flush()
    audit(
        "change_company",
        contact,
        f"Moved {contact.name} from {old.name} to {company.name}",
        {"company": [old.name, company.name], "unlinked rooms": [[r.name for r in removed], None]},
        related=old,
    )
    return removed


def contact_delete_impact(contact: Contact) -> dict:
    n = db.session.execute(select(func.count()).select_from(Hosting).where(Hosting.contact_id == contact.id)).scalar()
    return {"hosts": n}


def contact_delete_blocker(contact: Contact) -> str | None:
    """Why this contact cannot be deleted, or None. Shown on the confirm step and enforced on delete."""
    if contact.has_role(Role.RESELLER) and _last_reseller_user(contact):
        return "This is the reseller's last reseller user, so it cannot be deleted."
    if contact.id == actor_id():
        return "You cannot delete your own account while you are signed in with it."
    return None


def _unlink_all(contact: Contact, rooms: list[Room]) -> None:
    """Unlink the contact from these rooms, each locked first (in name order, as every caller lists them)."""
    for room in rooms:
        lock(room)
        if any(h.contact_id == contact.id for h in room.hostings):  # still linked once the room is ours
            _unlink(room, contact)


def _last_reseller_user(contact: Contact) -> bool:
    others = db.session.execute(
        select(func.count()).select_from(Contact).where(
            Contact.reseller_id == contact.reseller_id,
            Contact.role_clause(Role.RESELLER),
            Contact.id != contact.id,
        )
    ).scalar()
    return others == 0


@guarded
def set_roles(contact: Contact, roles) -> Contact:
    """Give or take stored roles (Host is derived from hosting). Used to raise a Host to Owner and back."""
    lock(contact)  # the company as it is now: a move to the reseller's own company cannot slip past the check
    new = frozenset(roles)
    old = contact.roles
    if (Role.ADMINISTRATOR in new) != (Role.ADMINISTRATOR in old):
        raise RuleError("The administrator role is given on the command line only.", "roles")
    company = contact.company
    if Role.OWNER in new - old and (company is None or company.type == CompanyType.RESELLER):
        raise RuleError(
            "The Owner role is for a contact of a customer company. Reseller staff already manage every company.",
            "roles",
        )
    if Role.RESELLER in new - old and (company is None or company.type != CompanyType.RESELLER):
        raise RuleError("Only contacts of the reseller's own company can be reseller users.", "roles")
    if Role.RESELLER in old - new and _last_reseller_user(contact):
        raise RuleError("This is the reseller's last reseller user, so the reseller role stays.", "roles")
    if new == old:
        return contact
    contact.roles = new
    db.session.flush()
    names = lambda rs: ", ".join(sorted(rs)) or "host only"  # noqa: E731
    audit("roles", contact, f"Roles of {contact.name}: {names(old)} → {names(new)}",
          {"roles": [sorted(old), sorted(new)]})
    return contact
