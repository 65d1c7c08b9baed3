"""People: a contact's roles (raise a Host to Owner and lower them again) and the audited "view as".

View as: an administrator or reseller sees the portal as one contact sees it.
The target's id is kept in the session; ``apply_view_as`` (called by the app's
before_request) swaps the signed-in user and the tenant scope for the target,
and refuses every write except ending it. Start and stop are audited, with the
real person as the actor.
"""
from flask import Blueprint, abort, current_app, g, redirect, request, session, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import select

import models
from extensions import db
from models import Contact, Role, RuleError, get_or_404
from permissions import can
from web import done, is_htmx, render

bp = Blueprint("people", __name__)

SESSION_KEY = "view_as"
WRITES_ALLOWED_WHILE_VIEWING = ("people.stop_view_as", "auth.logout", "static")


def apply_view_as() -> None:
    """Before each request: act as the target of an active "view as" (read-only)."""
    target_id = session.get(SESSION_KEY)
    if target_id is None:
        return
    real = current_user._get_current_object()
    target = None
    if real.is_authenticated:
        target = db.session.execute(select(Contact).where(Contact.id == target_id)).scalar_one_or_none()
    if target is None or not can(real, "view_as", target):
        session.pop(SESSION_KEY, None)  # the real user, or their right to view as the target, is gone
        return
    g.real_user = real
    g._login_user = target  # Flask-Login's current_user is now the target everywhere
    g.scope = models.scope_for(target)
    if request.method not in ("GET", "HEAD", "OPTIONS") and request.endpoint not in WRITES_ALLOWED_WHILE_VIEWING:
        raise RuleError(
            f"You are viewing the portal as {target.name}, which is read-only. "
            "Stop viewing as them to make changes.",
            status=403,
        )


def _redirect(target: str):
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.before_request
@login_required
def require_login():
    pass


@bp.get("/contacts/<int:contact_id>/roles")
def roles(contact_id):
    contact = get_or_404(Contact, contact_id)
    if not can(current_user, "manage"):
        abort(404)
    return render("people/roles.html", "contact_roles", contact=contact)


@bp.post("/contacts/<int:contact_id>/roles")
def update_roles(contact_id):
    """Raise a Host to Owner (owner=1) or lower them to Host again (owner=0)."""
    contact = get_or_404(Contact, contact_id)
    if not can(current_user, "raise_owner", contact):
        abort(403)
    want = request.form.get("owner")
    if want not in ("0", "1"):
        raise RuleError("Choose whether the contact is an Owner.", "roles")
    roles = set(contact.roles) | {Role.OWNER} if want == "1" else set(contact.roles) - {Role.OWNER}
    models.set_roles(contact, roles)
    db.session.commit()
    message = f"{contact.name} is now an Owner of {contact.company.name}" if want == "1" else f"{contact.name} is now a Host"
    return done(message, ["contacts-changed"], url_for("people.roles", contact_id=contact.id),
                body=render_block("people/roles.html", "contact_roles", contact=contact))


@bp.post("/view-as/<int:contact_id>")
def view_as(contact_id):
    target = get_or_404(Contact, contact_id)
    if not can(current_user, "view_as", target):
        abort(403)
    models.audit("view_as_start", target, f"{current_user.name} started viewing as {target.name}",
                 {"viewing as": [None, target.name]})
    db.session.commit()
    session[SESSION_KEY] = target.id
    return _redirect(url_for("home.index"))


@bp.post("/view-as/stop")
def stop_view_as():
    target = current_user._get_current_object() if g.get("real_user") is not None else None
    session.pop(SESSION_KEY, None)
    if target is None:
        return _redirect(url_for("home.index"))
    models.audit("view_as_stop", target, f"{g.real_user.name} stopped viewing as {target.name}",
                 {"viewing as": [target.name, None]})
    db.session.commit()
    return _redirect(contact_url(target))


def contact_url(contact) -> str:
    """The contact screen when the contacts blueprint has one, else this roles page."""
    if "contacts.edit" in current_app.view_functions:
        return url_for("contacts.edit", contact_id=contact.id)
    return url_for("people.roles", contact_id=contact.id)
