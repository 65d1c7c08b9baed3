"""My rooms: a contact's dashboard, and the settings of a room they may edit."""
from flask import Blueprint, current_app, request, url_for
from flask_login import current_user, login_required

import models
from extensions import db
from models import Room, RuleError, get_or_404
from permissions import can
from web import done, form_error, render

bp = Blueprint("dashboard", __name__)


@bp.before_request
@login_required
def require_login():
    pass


@bp.app_template_global()
def meeting_link(room) -> str:
    """The room's meeting link, built from configuration (never from the request's Host header)."""
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/meet/{room.slug}"


def _room_to_edit(room_id: int) -> Room:
    room = get_or_404(Room, room_id)
    if not can(current_user, "edit_room", room):
        raise RuleError(
            f"You cannot edit {room.name}: only the Host of a personal room, or the owner of a team room, "
            "edits it. Ask the room owner or your reseller.",
            status=403,
        )
    return room


@bp.get("/my-rooms")
def index():
    rooms = models.contact_rooms(current_user) if current_user.company_id is not None else []
    return render("dashboard/index.html", "my_rooms", rooms=rooms)


@bp.get("/my-rooms/<int:room_id>/edit")
def edit(room_id):
    room = _room_to_edit(room_id)
    return render("dashboard/edit.html", "room_settings_form", room=room, form={}, errors={})


@bp.post("/my-rooms/<int:room_id>")
def update(room_id):
    room = _room_to_edit(room_id)
    old_slug = room.slug
    try:
        models.check_version(room, request.form.get("version"))
        models.update_room_settings(room, request.form)
        db.session.commit()
    except RuleError as err:
        return form_error("dashboard/edit.html", "room_settings_form", err, room=room)
    return done(models.saved_message(room, old_slug), ["rooms-changed"], url_for("dashboard.index"))
