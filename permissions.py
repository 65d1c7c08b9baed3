"""One answer to "may this person do this to that object?".

Views and templates ask ``can(user, action, obj)`` and never re-derive the
answer. Tenant scope (models.Scope) already hides objects outside the
person's reseller or company; this module decides what they may do with
what they can see. Each action has one rule in ``RULES``; asking about an
action that has none is a programming error and raises.
"""
from __future__ import annotations

from collections.abc import Callable

from models import CompanyType, ContactState, ProductType, Reseller, Role, contact_rooms

HOST = "host"  # not a stored Role: a contact is a Host while linked to a room


def _admin(user) -> bool:
    return user.has_role(Role.ADMINISTRATOR)


def _reseller(user) -> bool:
    return user.has_role(Role.RESELLER) and user.reseller_id is not None


def _owner(user) -> bool:
    return user.has_role(Role.OWNER) and user.company_id is not None


def _staff(user) -> bool:
    """Acts for a whole reseller (or, for administrators, every reseller)."""
    return _admin(user) or _reseller(user)


def is_manager(user) -> bool:
    """May use the Companies, Contacts and Rooms screens (within their scope)."""
    return bool(user and user.is_authenticated) and any(user.has_role(role) for role in Role)


def hosts_as_editor(user, room) -> bool:
    """The Host of a personal room, or the designated owner of a team room."""
    for h in room.hostings:
        if h.contact_id == user.id:
            return room.product_type == ProductType.PERSONAL or h.is_owner
    return False


def _same_reseller(user, obj) -> bool:
    """Administrators act in every reseller; everyone else only in their own."""
    if _admin(user):
        return True
    rid = obj.id if isinstance(obj, Reseller) else getattr(obj, "reseller_id", None)
    return rid is not None and rid == user.reseller_id


# ---------------------------------------------------------------- the rules: (user, obj) -> bool
# Tenant scope already hides objects outside the user's reseller or company; the checks on
# ``obj`` repeat it, so a decision never depends on how the object was fetched.


def _staff_of(user, obj) -> bool:
    """Staff, for their own reseller's objects (or with no object: the screen or button at all)."""
    return _staff(user) and (obj is None or _same_reseller(user, obj))


def _edit_company(user, company) -> bool:
    if company is None:
        return _staff(user) or _owner(user)
    return (_staff(user) and _same_reseller(user, company)) or (_owner(user) and company.id == user.company_id)


def _edit_room(user, room) -> bool:
    if room is None:
        return False
    return (
        (_staff(user) and _same_reseller(user, room))
        or (_owner(user) and room.company_id == user.company_id)
        or hosts_as_editor(user, room)
    )


def _raise_owner(user, contact) -> bool:
    """Give or take the Owner role: customer contacts of the user's reseller."""
    return (
        _staff(user) and contact is not None and contact.company is not None
        and contact.company.type != CompanyType.RESELLER and _same_reseller(user, contact)
    )


def _view_as(user, contact) -> bool:
    """See the portal as that contact sees it (read-only, audited)."""
    return (
        _staff(user) and contact is not None and contact.id != user.id and contact.company_id is not None
        and not contact.has_role(Role.ADMINISTRATOR) and _same_reseller(user, contact)
    )


def _restore(user, item) -> bool:
    """Who may delete may restore: staff anything of their reseller; an Owner the contacts, rooms and
    host links of their own company (they cannot delete companies)."""
    if item is None:
        return is_manager(user) and (_staff(user) or _owner(user))
    if _staff(user) and _same_reseller(user, item):
        return True
    return (_owner(user) and item.kind != "company" and item.company_id == user.company_id
            and item.reseller_id == user.reseller_id)


def _history(user, obj) -> bool:
    """A History panel: whoever may see the object on the Companies, Contacts or Rooms screens."""
    if not is_manager(user):
        return False
    if obj is None or _staff(user):
        return obj is None or _same_reseller(user, obj)
    company_id = obj.id if type(obj).__name__ == "Company" else getattr(obj, "company_id", None)
    return company_id is not None and company_id == user.company_id


RULES: dict[str, Callable[[object, object], bool]] = {
    "manage": lambda user, _obj: is_manager(user),  # the Companies, Contacts and Rooms screens
    "admin": lambda user, _obj: _admin(user),  # the administrator's screens (/admin)
    "create_company": lambda user, _obj: _reseller(user),  # a reseller adds companies to its own reseller
    "delete_company": _staff_of,
    "change_company": _staff_of,
    "create_reseller_user": _staff_of,
    "reseller_settings": _staff_of,
    "set_terms": _staff_of,  # customer status, branded, room status, end date, suspension
    "end_sessions": _staff_of,  # end every session of a contact (their other browsers, their embed session)
    "edit_company": _edit_company,
    "edit_room": _edit_room,
    "raise_owner": _raise_owner,
    "view_as": _view_as,
    "restore": _restore,  # the Trash screen (no object) and Restore of one item
    "activity": lambda user, _obj: _staff(user),  # the Activity log of their reseller (administrators: all)
    "history": _history,
    # CSV import writes companies, contacts and rooms of one reseller: its staff only (an owner's rooms
    # and terms are set by the reseller; an administrator acts in no one reseller). Owners get 403.
    "import_csv": lambda user, _obj: _reseller(user),
    # The free-trial report: staff for their reseller (administrators: every reseller), owners for
    # their own company (the tenant scope narrows what it counts).
    "reports": lambda user, _obj: _staff(user) or _owner(user),
}


def can(user, action: str, obj=None) -> bool:
    """May ``user`` do ``action`` (to ``obj``)? An action without a rule raises ValueError."""
    rule = RULES.get(action)
    if rule is None:
        raise ValueError(f"permissions.can: unknown action {action!r}")
    if user is None or not user.is_authenticated:
        return False
    return rule(getattr(user, "_get_current_object", lambda: user)(), obj)  # the proxy resolved once


def roles_of(contact) -> list[str]:
    """The contact's roles for display: the stored ones, and Host when they are linked to a room."""
    out: list[str] = [role for role in Role if contact.has_role(role)]
    if contact.company_id is not None and contact_rooms(contact):
        out.append(HOST)
    return out


def capabilities(contact) -> list[str]:
    """What a contact's roles let them do, in short sentences for the contact screen."""
    out: list[str] = []
    if contact.has_role(Role.ADMINISTRATOR):
        out += [
            "Create resellers and their first reseller user",
            "See and act in every reseller (every action is audited)",
            "Change any reseller's settings",
        ]
    reseller = contact.reseller
    if contact.has_role(Role.RESELLER) and reseller is not None:
        out += [
            f"Manage all companies of {reseller.name}, with their contacts and rooms",
            f"Create more reseller users of {reseller.name}",
            "Raise a Host to Owner, and lower them again",
            f"Change the settings of {reseller.name}: trial and demo lengths, brand, embed origins",
            f"View the portal as any contact of {reseller.name} sees it (read-only, audited)",
        ]
    if contact.has_role(Role.OWNER) and contact.company is not None:
        out.append(f"Manage {contact.company.name}: its details, contacts and rooms "
                   f"(customer status, room status and end dates stay with {contact.reseller.name})")
    if contact.company_id is not None:
        rooms = contact_rooms(contact)
        if rooms:
            n = len(rooms)
            out.append(f"See {n} linked room{'' if n == 1 else 's'} on My rooms, each with its meeting link")
        else:
            out.append("See My rooms (no rooms are linked yet)")
        for room in rooms:
            # The same answer as can(), so the list never promises an Edit the portal refuses (or hides one).
            if not can(contact, "edit_room", room):
                out.append(f"Use room {room.name} (Host; the room owner edits it)")
            elif room.product_type == ProductType.PERSONAL and hosts_as_editor(contact, room):
                out.append(f"Edit room {room.name} (Host of a personal room)")
            elif hosts_as_editor(contact, room):
                out.append(f"Edit room {room.name} (room owner)")
            elif contact.has_role(Role.OWNER):
                out.append(f"Edit room {room.name} (Owner of {contact.company.name})")
            else:
                out.append(f"Edit room {room.name} (reseller staff)")
    if contact.state != ContactState.LIVE:
        out.insert(0, "Suspended: cannot log in, so none of this applies until reactivated")
    return out
