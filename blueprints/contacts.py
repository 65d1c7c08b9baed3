"""Contacts: list and search (guide 'Manage contacts'), edit, change company, link rooms."""
from flask import Blueprint
from flask_login import login_required

from web import render

bp = Blueprint("contacts", __name__)


@bp.get("/contacts")
@login_required
def index():
    return render("contacts/index.html", "contact_table")


@bp.get("/contacts/new")
@login_required
def new():
    return render("contacts/index.html", "contact_table")
