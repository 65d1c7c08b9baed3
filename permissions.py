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


def can(user, action: str, obj=None) -> bool:
    if user is None or not user.is_authenticated:
        return False
    admin = user.has_role("administrator")
    reseller = user.has_role("reseller")
    owner = user.has_role("owner")
    if action == "manage":  # the list screens and their create/edit/delete
        return is_manager(user)
    if action == "create_company":
        return reseller or admin
    if action == "delete_company":
        return (reseller or admin) and obj is not None and obj.type != "Reseller"
    if action == "edit_company":
        return admin or reseller or (owner and obj is not None and obj.id == user.company_id)
    if action == "edit_room":
        return admin or reseller or (owner and obj is not None and obj.company_id == user.company_id) or (
            obj is not None and hosts_as_editor(user, obj)
        )
    if action == "change_company":
        return admin or reseller
    return False


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
