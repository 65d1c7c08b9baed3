"""Reseller settings (trial and demo lengths, brand, embed origins) and reseller users.

A reseller edits its own at /settings; an administrator edits any reseller's
at /admin/resellers/<id>. Same views, same template.

Inside a partner's frame (an embed session) the reseller has reseller rights, not the rights of
whoever holds the embed secret: whoever signs the tokens can open an embed session as any user of
the reseller, so the frame must not add reseller users (a first-party login of the partner's
choosing, which could then rotate the secret and lock the partner out) nor change which origins
may frame the portal. Those answer 403; trial and demo lengths and the brand still work there.
"""
from flask import Blueprint, abort, current_app, g, request, url_for
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


NOT_IN_FRAME_ORIGINS = ("The allowed embed origins cannot be changed inside your partner site. "
                        "Open the portal directly and log in with your password to change them.")
NOT_IN_FRAME_USERS = ("Reseller users cannot be added inside your partner site. "
                      "Open the portal directly and log in with your password to add one.")


def _settings_form(reseller: Reseller) -> dict:
    """The submitted settings. Inside the frame the origins stay as they are; a try to change them is refused."""
    data = request.form.to_dict()
    if g.get("embed"):
        if "embed_origins" in data:
            try:
                changed = models.clean_origins(data["embed_origins"]) != (reseller.embed_origins or "")
            except RuleError:
                changed = True
            if changed:
                raise RuleError(NOT_IN_FRAME_ORIGINS, status=403)
        data["embed_origins"] = reseller.embed_origins or ""
    return data


@bp.post("/settings", defaults={"reseller_id": None})
@bp.post("/admin/resellers/<int:reseller_id>")
def update(reseller_id):
    reseller = _reseller(reseller_id)
    data = _settings_form(reseller)
    try:
        models.update_reseller_settings(reseller, data)
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
    if g.get("embed"):
        raise RuleError(NOT_IN_FRAME_USERS, status=403)
    try:
        user = models.create_contact(reseller.own_company, request.form, roles={Role.RESELLER})
        db.session.commit()
    except RuleError as err:
        return form_error("resellers/edit.html", "reseller_users", err, **_ctx(reseller, reseller_id))
    body = render_block("resellers/edit.html", "reseller_users", **_ctx(reseller, reseller_id))
    return done(f"Added reseller user {user.name}; a welcome email is on its way", ["resellers-changed"],
                url_for("resellers.edit", reseller_id=reseller_id), body=body)
