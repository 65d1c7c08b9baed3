"""Rooms: list with search (guide 'Manage rooms'), Edit room with its Hosts."""
from flask import Blueprint
from flask_login import login_required

from web import render

bp = Blueprint("rooms", __name__)


@bp.get("/rooms")
@login_required
def index():
    return render("rooms/index.html", "room_table")


@bp.get("/rooms/new")
@login_required
def new():
    return render("rooms/index.html", "room_table")
