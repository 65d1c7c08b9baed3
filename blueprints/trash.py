"""Trash: what was deleted in the last TRASH_DAYS days, with Restore (and the toast's Undo)."""
from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required

import models
from extensions import db
from models import RestoreConflict, TrashItem, get_or_404
from permissions import can
from web import done, render

bp = Blueprint("trash", __name__)

SCREEN = "trash/index.html"
# A restore brings rows back to every list.
EVENTS = ["trash-changed", "companies-changed", "contacts-changed", "rooms-changed"]


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "restore"):
        abort(404)


def _screen(**ctx) -> dict:
    return {"items": models.trash_items(), "days": models.trash_days(), "conflict": None, "item": None,
            "errors": {}, **ctx}


@bp.get("/trash")
def index():
    return render(SCREEN, "trash_table", **_screen())


@bp.post("/trash/<int:item_id>/restore")
def restore(item_id):
    item = get_or_404(TrashItem, item_id)
    if not can(current_user, "restore", item):
        abort(404)
    renames = {k: v for k, v in request.form.items() if k == "name" or k.startswith(("email_", "slug_"))}
    try:
        message = models.restore(item, renames)
        db.session.commit()
    except RestoreConflict as err:
        db.session.rollback()
        item = get_or_404(TrashItem, item_id)
        return render(SCREEN, "restore_form", status=422, **_screen(item=item, conflict=err, form=request.form))
    except models.RuleError as err:
        if not err.field or err.field == "_form":
            raise  # the app's handler answers: rolled back, in words (a toast for htmx)
        db.session.rollback()
        item = get_or_404(TrashItem, item_id)
        # a new value that is itself not valid: the form again with the message next to that field
        conflict = RestoreConflict([models.Collision(err.field, "New value", err.message,
                                                     request.form.get(err.field, ""))])
        return render(SCREEN, "restore_form", status=422,
                      **_screen(item=item, conflict=conflict, form=request.form, errors={err.field: err.message}))
    return done(message, EVENTS, url_for("trash.index"))
