"""One answer to "may this person do this to that object?".

Views and templates ask ``can(user, action, obj)`` and never re-derive the
answer. Tenant scope (models.Scope) already hides objects outside the
person's reseller or company; this module decides what they may do with
what they can see.
"""
from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user


def is_manager(user) -> bool:
    """May use the Companies, Contacts and Rooms screens (within their scope)."""
    return bool(user and user.is_authenticated) and (
        user.has_role("administrator") or user.has_role("reseller") or user.has_role("owner")
    )


def hosts_as_editor(user, room) -> bool:
    """The Host of a personal room, or the designated owner of a team room."""
    for h in room.hostings:
        if h.contact_id == user.id:
            return room.product_type == "personal room" or h.is_owner
    return False


def _same_reseller(user, obj) -> bool:
    """Administrators act in every reseller; everyone else only in their own."""
    if user.has_role("administrator"):
        return True
    rid = obj.id if obj.__class__.__name__ == "Reseller" else getattr(obj, "reseller_id", None)
    return rid is not None and rid == user.reseller_id


def can(user, action: str, obj=None) -> bool:
    """May ``user`` do ``action`` (to ``obj``)? Roles: administrator, reseller, owner, host (from hosting).

    Tenant scope already hides objects outside the user's reseller or company; the
    checks on ``obj`` below repeat it, so a decision never depends on how the
    object was fetched.
    """
    if user is None or not user.is_authenticated:
        return False
    admin = user.has_role("administrator")
    reseller = user.has_role("reseller") and user.reseller_id is not None
    owner = user.has_role("owner") and user.company_id is not None
    staff = admin or reseller  # acts for a whole reseller (or, for admins, every reseller)
    if action == "manage":  # the Companies, Contacts and Rooms screens, within scope
        return is_manager(user)
    if action == "admin":  # the administrator's screens (/admin)
        return admin
    if action == "create_company":  # a reseller adds companies to its own reseller
        return reseller
    if action in ("delete_company", "change_company", "create_reseller_user", "reseller_settings"):
        return staff and (obj is None or _same_reseller(user, obj))
    if action == "set_terms":  # customer status, branded, room status, end date, suspension
        return staff and (obj is None or _same_reseller(user, obj))
    if action == "edit_company":
        if obj is None:
            return staff or owner
        return (staff and _same_reseller(user, obj)) or (owner and obj.id == user.company_id)
    if action == "edit_room":
        if obj is None:
            return False
        return (
            (staff and _same_reseller(user, obj))
            or (owner and obj.company_id == user.company_id)
            or hosts_as_editor(user, obj)
        )
    if action == "raise_owner":  # give or take the Owner role: customer contacts of the user's reseller
        return (
            staff and obj is not None and obj.company is not None and obj.company.type != "Reseller"
            and _same_reseller(user, obj)
        )
    if action == "view_as":  # see the portal as that contact sees it (read-only, audited)
        return (
            staff and obj is not None and obj.id != user.id and obj.company_id is not None
            and not obj.has_role("administrator") and _same_reseller(user, obj)
        )
    return False


def roles_of(contact) -> list[str]:
    """The contact's roles for display: the stored ones, and Host when they are linked to a room."""
    from models import contact_rooms

    out = [r for r in ("administrator", "reseller", "owner") if contact.has_role(r)]
    if contact.company_id is not None and contact_rooms(contact):
        out.append("host")
    return out


def capabilities(contact) -> list[str]:
    """What a contact's roles let them do, in short sentences for the contact screen."""
    from models import contact_rooms

    out: list[str] = []
    if contact.has_role("administrator"):
        out += [
            "Create resellers and their first reseller user",
            "See and act in every reseller (every action is audited)",
            "Change any reseller's settings",
        ]
    reseller = contact.reseller
    if contact.has_role("reseller") and reseller is not None:
        out += [
            f"Manage all companies of {reseller.name}, with their contacts and rooms",
            f"Create more reseller users of {reseller.name}",
            "Raise a Host to Owner, and lower them again",
            f"Change the settings of {reseller.name}: trial and demo lengths, brand, embed origins",
            f"View the portal as any contact of {reseller.name} sees it (read-only, audited)",
        ]
    if contact.has_role("owner") and contact.company is not None:
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
            elif room.product_type == "personal room" and hosts_as_editor(contact, room):
                out.append(f"Edit room {room.name} (Host of a personal room)")
            elif hosts_as_editor(contact, room):
                out.append(f"Edit room {room.name} (room owner)")
            elif contact.has_role("owner"):
                out.append(f"Edit room {room.name} (Owner of {contact.company.name})")
            else:
                out.append(f"Edit room {room.name} (reseller staff)")
    if contact.state != "live":
        out.insert(0, "Suspended: cannot log in, so none of this applies until reactivated")
    return out


def require(action: str):
    """View decorator: 404 unless the current user may do ``action`` (objects are checked in the view)."""

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not can(current_user, action):
                abort(404)
            return view(*args, **kwargs)

        return wrapper

    return decorator
