"""Reseller settings (trial and demo lengths, brand, embed origins) and reseller users.

A reseller edits its own at /settings; an administrator edits any reseller's
at /admin/resellers/<id>. Same views, same template.
"""
from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy import select

import models
from extensions import db
from models import Contact, Reseller, Role, RuleError
from permissions import can
from web import done, form_error, render

bp = Blueprint("resellers", __name__)


@bp.before_request
@login_required
def require_login():
    pass


def _reseller(reseller_id: int | None) -> Reseller:
    """The reseller whose settings these are: the user's own (/settings) or, for admins, any."""
    if reseller_id is None:
        reseller = current_user.reseller if current_user.has_role(Role.RESELLER) else None
    elif can(current_user, "admin"):
        reseller = db.session.execute(select(Reseller).where(Reseller.id == reseller_id)).scalar_one_or_none()
    else:
        reseller = None
    if reseller is None or not can(current_user, "reseller_settings", reseller):
        abort(404)
    return reseller


def _ctx(reseller: Reseller, reseller_id: int | None, **extra) -> dict:
    users = db.session.execute(
        select(Contact)
        .where(Contact.reseller_id == reseller.id, Contact.role_clause(Role.RESELLER))
        .order_by(Contact.last_name, Contact.first_name)
    ).scalars().all()
    embed_url = None
    if reseller_id is None and "embed.settings" in current_app.view_functions:
        embed_url = url_for("embed.settings")
    ctx = {"reseller": reseller, "reseller_id": reseller_id, "users": users, "embed_url": embed_url,
           "form": {}, "errors": {}}
    ctx.update(extra)
    return ctx


@bp.get("/settings", defaults={"reseller_id": None})
@bp.get("/admin/resellers/<int:reseller_id>")
def edit(reseller_id):
    reseller = _reseller(reseller_id)
    return render("resellers/edit.html", "reseller_form", **_ctx(reseller, reseller_id))


@bp.post("/settings", defaults={"reseller_id": None})
@bp.post("/admin/resellers/<int:reseller_id>")
def update(reseller_id):
    reseller = _reseller(reseller_id)
    try:
        models.update_reseller_settings(reseller, request.form)
        db.session.commit()
    except RuleError as err:
        return form_error("resellers/edit.html", "reseller_form", err, **_ctx(reseller, reseller_id))
    body = render_block("resellers/edit.html", "reseller_form", **_ctx(reseller, reseller_id, saved=True))
    return done(f"Saved the settings of {reseller.name}", ["resellers-changed"],
                url_for("resellers.edit", reseller_id=reseller_id), body=body)


@bp.post("/settings/users", defaults={"reseller_id": None})
@bp.post("/admin/resellers/<int:reseller_id>/users")
def create_user(reseller_id):
    """Add a reseller user: a contact of the reseller's own company with the reseller role."""
    reseller = _reseller(reseller_id)
    if not can(current_user, "create_reseller_user", reseller):
        abort(404)
    try:
        user = models.create_contact(reseller.own_company, request.form, roles={Role.RESELLER})
        db.session.commit()
    except RuleError as err:
        return form_error("resellers/edit.html", "reseller_users", err, **_ctx(reseller, reseller_id))
    body = render_block("resellers/edit.html", "reseller_users", **_ctx(reseller, reseller_id))
    return done(f"Added reseller user {user.name}; a welcome email is on its way", ["resellers-changed"],
                url_for("resellers.edit", reseller_id=reseller_id), body=body)
