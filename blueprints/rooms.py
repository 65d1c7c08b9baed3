"""Rooms: the list with search, add, Edit room with its Hosts, and delete."""
from datetime import date
from urllib.parse import urlsplit

from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_blocks
from sqlalchemy import Date, func, literal, select
from sqlalchemy.orm import joinedload, selectinload

import models
from blueprints import hosting, lifecycle
from extensions import db
from models import Company, Contact, Hosting, Room, RuleError, get_or_404
from permissions import can
from csv_export import BATCH, stream_csv
from models.imports import export_header
from listing import ListArgs, keep_shown
from web import check_field, done, for_reseller, form_error, render, render_delete_confirm, render_list

bp = Blueprint("rooms", __name__)

SORTS = {
    "name": Room.name_key,
    "type": Room.product_type,
    "status": Room.status,
    "created": Room.created_at,
    # paid rooms have no end date: they sort as the furthest away, the same on SQLite and PostgreSQL
    "end": func.coalesce(Room.end_date, literal(date(9999, 12, 31), Date)),
    "company": Company.name_key,
}
FILTERS = {"company": int, "type": models.PRODUCT_TYPES, "status": models.ROOM_STATUSES, "ends": tuple(lifecycle.ENDS), "reseller": int}


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "manage"):
        abort(404)


# Edit room shows the company and every Host with their contact: the room and its company in one
# query, the Hosts with their contacts in one more, whatever the number of Hosts.
EDIT_LOADS = (joinedload(Room.company), selectinload(Room.hostings).joinedload(Hosting.contact))


def _room_to_edit(room_id: int) -> Room:
    """The room, if it is in scope and the current user may edit it; 404 otherwise."""
    room = get_or_404(Room, room_id, EDIT_LOADS)
    if not can(current_user, "edit_room", room):
        abort(404)
    return room


def _companies() -> list[tuple[int, str]]:
    """(id, name) of the companies a new room can belong to (the scope does the filtering)."""
    return [tuple(row) for row in db.session.execute(select(Company.id, Company.name).order_by(Company.name_key))]


# ---------------------------------------------------------------- list


def matching_rooms(source=None, joined=True):
    """The list's state (from the URL, or ``source``: the state a bulk action sends) and its statement:
    (args, statement, filter errors, the company it is filtered to). ``joined``: models.search_rooms."""
    args = ListArgs(SORTS, "name", FILTERS, source)
    company_id = args.filters.get("company")
    company = get_or_404(Company, company_id) if company_id is not None else None
    stmt = models.search_rooms(args.q, company_id, args.filters.get("status"), args.filters.get("type"), joined)
    stmt = for_reseller(stmt, args, Room.reseller_id)
    where, errors = lifecycle.end_filters(args, source)
    return args, stmt.where(*where), errors, company


@bp.get("/rooms")
def index():
    args, stmt, errors, company = matching_rooms(joined=False)
    hosts = models.with_host_count()  # in the page's statement: no query per page for the counts
    page = keep_shown(args.paginate(stmt, Room.id, load=lambda query: models.search.with_companies(query, Room, hosts)),
                      Room, [joinedload(Room.company), hosts])
    return render_list("rooms/index.html", "room", args=args, page=page, company=company,
                       filter_errors=errors, ends=lifecycle.ENDS)


@bp.get("/rooms/export.csv")
def export():
    """The list as it is filtered, searched and sorted, every page of it, streamed as CSV (with each
    room's Hosts, the owner first, read per batch of rooms)."""
    args, stmt, _errors, _company = matching_rooms()  # the list's own query: search, filters, end dates
    stmt = args.order(stmt.add_columns(Company.name), Room.id)

    def rows():
        result = db.session.execute(stmt.execution_options(yield_per=BATCH))
        for batch in result.partitions():
            ids = [room.id for room, _ in batch]
            hosts: dict[int, list[str]] = {i: [] for i in ids}
            for room_id, email in db.session.execute(
                    select(Hosting.room_id, Contact.email).join(Contact, Contact.id == Hosting.contact_id)
                    .where(Hosting.room_id.in_(ids)).order_by(Hosting.is_owner.desc(), Hosting.linked_at, Hosting.id)):
                hosts[room_id].append(email)
            for room, company in batch:
                yield (room.name, company, room.product_type, room.slug, room.status, room.end_date,
                       room.max_participants, room.pin, room.lobby, room.recording, room.suspended,
                       "; ".join(hosts[room.id]), room.created_at.date())

    return stream_csv("rooms.csv", export_header("rooms"), rows())


# ---------------------------------------------------------------- add


@bp.get("/rooms/new")
def new():
    company_id = request.args.get("company_id")
    company = get_or_404(Company, company_id) if company_id not in (None, "") else None
    return render("rooms/edit.html", "room_form", room=None, company=company,
                  companies=[] if company else _companies(), form={"then": request.args.get("then", "")}, errors={})


@bp.post("/rooms")
def create():
    company_id = request.form.get("company_id")
    if company_id in (None, ""):
        err = RuleError("Choose the company this room belongs to.", "company_id")
        return form_error("rooms/edit.html", "room_form", err, room=None, company=None, companies=_companies())
    company = get_or_404(Company, company_id)
    try:
        data = request.form if can(current_user, "set_terms", company) else models.keep_terms(None, request.form)
        room = models.create_room(company, data)
        db.session.commit()
    except RuleError as err:
        return form_error("rooms/edit.html", "room_form", err, room=None, company=company, companies=[])
    # From a company's page (then=hosts) the panel goes on with the new room's Hosts: linking one is the next step.
    body = ""
    if request.form.get("then") == "hosts":
        body = render_blocks("rooms/edit.html", ["room_hosts"], host_errors={}, oob=False, just_added=True,
                             **_edit_context(room))
    return done(f"Added room {room.name} to {company.name}", ["rooms-changed", "companies-changed"],
                url_for("rooms.edit", room_id=room.id), changed=f"room-{room.id}", body=body)


@bp.get("/rooms/check-slug")
def check_slug():
    """The meeting link field re-checked as the user types (add or edit): the save's words, nothing saved."""
    room_id = request.args.get("room_id")
    room = _room_to_edit(room_id) if room_id else None
    return check_field("rooms/edit.html", "room_slug_field", "slug",
                       lambda value: models.check_slug(value, room.id if room else None), room=room)


# ---------------------------------------------------------------- Edit room


def _edit_context(room: Room) -> dict:
    return {"room": room, "company": room.company, "companies": [], "linkable": models.linkable_contacts(room)}


@bp.get("/rooms/<int:room_id>/edit")
def edit(room_id):
    room = _room_to_edit(room_id)
    return render("rooms/edit.html", "room_detail", form={}, errors={}, host_errors={}, **_edit_context(room))


@bp.post("/rooms/<int:room_id>")
def update(room_id):
    room = _room_to_edit(room_id)
    old_slug = room.slug
    try:
        models.save_edit(room, request.form, models.update_room, can(current_user, "set_terms", room))
        db.session.commit()
    except RuleError as err:
        return form_error("rooms/edit.html", "room_detail", err, host_errors={}, **_edit_context(room))
    # The settings and the form come back in place; the Hosts block follows out of band,
    # since a change of product type changes who is owner and which buttons apply.
    body = render_blocks("rooms/edit.html", ["room_detail", "room_hosts"], form={}, errors={}, host_errors={},
                         saved=True, oob=True, **_edit_context(room))
    return done(models.saved_message(room, old_slug), ["rooms-changed", "companies-changed"],
                url_for("rooms.edit", room_id=room.id), body=body)


# ---------------------------------------------------------------- Hosts of a room


def _hosts(room: Room) -> hosting.Panel:
    return hosting.Panel("rooms/edit.html", "room_hosts", url_for("rooms.edit", room_id=room.id),
                         "host_errors", "contact_id", lambda: {"form": {}, "errors": {}, **_edit_context(room)})


@bp.post("/rooms/<int:room_id>/hosts")
def link(room_id):
    room = _room_to_edit(room_id)
    return _hosts(room).link_chosen("Choose a contact to link.", lambda contact_id: (room, get_or_404(Contact, contact_id)))


def _host_change(room_id: int, contact_id: int, action):
    room = _room_to_edit(room_id)
    return _hosts(room).change(action, room, get_or_404(Contact, contact_id))


@bp.post("/rooms/<int:room_id>/hosts/<int:contact_id>/delete")
def unlink(room_id, contact_id):
    return _host_change(room_id, contact_id, hosting.unlink)


@bp.post("/rooms/<int:room_id>/hosts/<int:contact_id>/owner")
def make_owner(room_id, contact_id):
    return _host_change(room_id, contact_id, hosting.make_owner)


@bp.post("/rooms/<int:room_id>/hosts/<int:contact_id>/personal-room")
def give_personal_room(room_id, contact_id):
    return _host_change(room_id, contact_id, hosting.give_personal_room)


# ---------------------------------------------------------------- delete


@bp.get("/rooms/<int:room_id>/delete")
def confirm_delete(room_id):
    room = get_or_404(Room, room_id)
    impact = models.room_delete_impact(room)
    return render_delete_confirm(f"room {room.name}", f"Deletes room {room.name} with {models.describe_impact(impact)}.",
                                 url_for("rooms.delete", room_id=room.id), url_for("rooms.index"))


@bp.post("/rooms/<int:room_id>/delete")
def delete(room_id):
    room = get_or_404(Room, room_id)
    name, rid = room.name, room.id
    item = models.trash_room(room)
    db.session.commit()
    resp = done(f"Deleted room {name} with {models.describe_impact(item.impact)}",
                ["rooms-changed", "companies-changed", "trash-changed"], url_for("rooms.index"),
                undo=url_for("trash.restore", item_id=item.id))
    # Deleted from its own Edit room (or confirm) page: that page is gone, so go to the list.
    current = urlsplit(request.headers.get("HX-Current-URL", "")).path
    if current.startswith(url_for("rooms.confirm_delete", room_id=rid).rsplit("/", 1)[0] + "/"):
        resp.headers["HX-Redirect"] = url_for("rooms.index")
    return resp
