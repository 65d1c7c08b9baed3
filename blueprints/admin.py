"""Administrator screens: every reseller with its counts, and creating a reseller with its first user."""
from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required

import models
from extensions import db
from models import Role, RuleError
from permissions import can
from web import done, form_error, render

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def require_admin():
    if not can(current_user, "admin"):
        abort(404)


@bp.get("")
def index():
    return render("admin/index.html", "reseller_table", rows=models.reseller_counts())


@bp.get("/resellers/new")
def new():
    return render("admin/new.html", "reseller_new", form={}, errors={})


@bp.post("/resellers")
def create():
    """A reseller (with its own company) and its first reseller user, who gets a welcome email."""
    form = request.form
    try:
        reseller = models.create_reseller(form.get("name") or "")
        models.clean_name(form.get("first_name"), "first_name", "First name")
        models.clean_name(form.get("last_name"), "last_name", "Last name")
        user = models.create_user(form.get("email") or "", Role.RESELLER, None, reseller,
                                  first=form["first_name"].strip(), last=form["last_name"].strip())
        db.session.commit()
    except RuleError as err:
        return form_error("admin/new.html", "reseller_new", err)
    return done(f"Created reseller {reseller.name}; {user.email} gets a welcome email",
                ["resellers-changed"], url_for("admin.index"))
