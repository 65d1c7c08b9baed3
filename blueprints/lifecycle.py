"""Trial and demo lifecycle of rooms: Extend, Convert to paid subscriber, Back to demo (one room, answered
in place), Make customer (the offer after a company's first paid room), bulk actions on the rooms list,
and the list's end-date filters (rooms.index reads them through ``end_filters``)."""
from __future__ import annotations

from datetime import date

from flask import abort, request, url_for
from flask import Blueprint
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import func, select

import models
from extensions import db
from models import Company, Room, RuleError, get_or_404
from models import lifecycle
from permissions import can
from web import done, render

bp = Blueprint("lifecycle", __name__)

TEMPLATE = "rooms/lifecycle.html"
# The "ends" filter of the rooms list: its values and their labels.
ENDS = {"soon": "Ends within 7 days", "ended": "Ended"}


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "manage"):
        abort(404)


def _room_for_terms(room_id: int) -> Room:
    """The room, if in scope and the user may set its commercial terms (reseller staff); 404 otherwise."""
    room = get_or_404(Room, room_id)
    if not can(current_user, "set_terms", room):
        abort(404)
    return room


def _answer(room: Room, message: str, offer: Company | None = None):
    """In place: the end date (the target), and the status and the actions out of band."""
    db.session.commit()
    db.session.refresh(room)
    body = render_blocks(TEMPLATE, ["room_end", "room_status", "room_actions"], room=room, errors={}, form={},
                         offer=offer, oob=True)
    return done(message, ["rooms-changed"], request.referrer or url_for("rooms.index"), body=body)


def _refused(room: Room, err: RuleError):
    """422 (or the error's status): the actions with the message next to the field, in their own place."""
    db.session.rollback()
    room = get_or_404(Room, room.id)
    headers = {"HX-Retarget": f"#room-{room.id}-actions", "HX-Reswap": "outerHTML"}
    return render(TEMPLATE, "room_actions", status=err.status, headers=headers, room=room,
                  errors={err.field or "days": err.message}, form=request.form, offer=None, oob=False)


@bp.get("/rooms/<int:room_id>/terms")
def terms(room_id):
    """The room's actions (in the panel, from the rooms list): their answers update its row in place."""
    room = _room_for_terms(room_id)
    return render(TEMPLATE, "room_panel", room=room, errors={}, form={}, offer=None, oob=False)


@bp.post("/rooms/<int:room_id>/extend")
def extend(room_id):
    room = _room_for_terms(room_id)
    try:
        models.extend_room(room, request.form, request.form.get("reason"))
    except RuleError as err:
        return _refused(room, err)
    return _answer(room, f"Extended {room.name} to {room.end_date.isoformat()}")


@bp.post("/rooms/<int:room_id>/convert")
def convert(room_id):
    room = _room_for_terms(room_id)
    try:
        first = models.convert_room(room, request.form.get("reason"))
    except RuleError as err:
        return _refused(room, err)
    return _answer(room, f"Converted {room.name} to paid subscriber", offer=room.company if first else None)


@bp.post("/rooms/<int:room_id>/demo")
def demo(room_id):
    room = _room_for_terms(room_id)
    try:
        models.back_to_demo(room, request.form.get("reason"))
    except RuleError as err:
        return _refused(room, err)
    return _answer(room, f"{room.name} is a demo again, until {room.end_date.isoformat()}")


@bp.post("/companies/<int:company_id>/customer")
def make_customer(company_id):
    company = get_or_404(Company, company_id)
    if not can(current_user, "set_terms", company):
        abort(404)
    models.make_customer(company, request.form.get("reason"))
    db.session.commit()
    body = render_block(TEMPLATE, "customer_made", company=company)
    return done(f"{company.name} is now a customer", ["companies-changed"],
                url_for("companies.edit", company_id=company.id), body=body)


# ---------------------------------------------------------------- the list's filters


def _day(source, name: str, errors: dict):
    raw = (source.get(name) or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = "Enter a date like 2026-12-31."
        return None


def _month(source, name: str):
    raw = (source.get(name) or "").strip()
    try:
        return date.fromisoformat(raw + "-01") if raw else None
    except ValueError:
        return None


def end_filters(args, source=None) -> tuple[list, dict]:
    """The rooms list's end-date filters from the URL: "ends" (soon, ended), "from"/"to" (ends between),
    "started"/"converted" (a month, YYYY-MM: the links from Home). Valid ones join ``args.filters`` so every
    link keeps them. Returns (where clauses, {field: error})."""
    source = request.args if source is None else source
    where, errors = [], {}
    ends = args.filters.get("ends")
    if ends == "soon":
        where.append(lifecycle.ends_soon())
    elif ends == "ended":
        where.append(lifecycle.ended())
    start, end = _day(source, "from", errors), _day(source, "to", errors)
    if start and end and end < start:
        errors["to"] = "“To” must be on or after “From”."
        start = end = None
    if start or end:
        where.append(lifecycle.ends_between(start, end))
        args.filters.update({k: v.isoformat() for k, v in (("from", start), ("to", end)) if v})
    for name, clause in (("started", lifecycle.started_in), ("converted", lifecycle.converted_in)):
        month = _month(source, name)
        if month is not None:
            where.append(clause(month))
            args.filters[name] = month.strftime("%Y-%m")
    return where, errors


# ---------------------------------------------------------------- bulk actions


def _selected_rooms() -> list[Room]:
    """The rooms ticked (``ids``), or with ``all``, every room the list's current search and filters match.
    An id that is not in scope (another reseller's, or gone): 404, and nothing is changed."""
    if request.form.get("all"):
        from blueprints.rooms import matching_rooms  # the list's own query, filters and all

        args, stmt, errors, _company = matching_rooms(request.form)
        if errors:
            raise RuleError("Fix the list's filters first: " + " ".join(errors.values()), "ids")
        rooms = db.session.execute(stmt.order_by(Room.id).limit(lifecycle.BULK_MAX + 1)).scalars().all()
        if args.searching and len(rooms) > models.search.SEARCH_CAP:
            # a search reads a bounded set of candidates: "all" of a broad one would not be all the rooms
            raise RuleError(f"More than {models.search.SEARCH_CAP} rooms match the search. Refine the search, "
                            "or use the filters without one, to act on all of them.", "ids")
        return rooms
    ids = set()
    for raw in request.form.getlist("ids"):
        try:
            ident = int(raw)
        except ValueError:
            abort(404)
        if not 0 < ident <= models.MAX_INT:
            abort(404)
        ids.add(ident)
    if not ids:
        return []
    rooms = db.session.execute(select(Room).where(Room.id.in_(ids)).order_by(Room.id)).scalars().all()
    if len(rooms) != len(ids):
        abort(404)
    return rooms


def _bulk_message(action: str, out: dict) -> str:
    verb = {"extend": "Extended", "convert": "Converted", "suspend": "Suspended", "delete": "Deleted"}[action]
    n = out["done"]
    text = f"{verb} {n} room{'' if n == 1 else 's'}."
    if out["skipped"]:
        text += f" {out['skipped']} did not need it."
    return text


@bp.post("/rooms/bulk")
def bulk():
    if not can(current_user, "set_terms"):
        abort(404)
    action = request.form.get("action") or ""
    ctx = {"form": request.form, "errors": {}, "confirm": None, "message": None, "offers": []}
    try:
        rooms = _selected_rooms()
        for room in rooms:
            if not can(current_user, "set_terms", room):
                abort(404)
        if action == "delete" and not request.form.get("confirm") and rooms:
            hosts = db.session.execute(select(func.count()).select_from(models.Hosting)
                                       .where(models.Hosting.room_id.in_([r.id for r in rooms]))).scalar()
            ctx["confirm"] = (f"Deletes {len(rooms)} room{'' if len(rooms) == 1 else 's'} with "
                              f"{models.describe_impact({'hosts': hosts})}.", len(rooms))
            return render(TEMPLATE, "bulk_result", **ctx)
        out = models.bulk_action(rooms, action, request.form, request.form.get("reason"))
        db.session.commit()
    except RuleError as err:
        db.session.rollback()
        ctx["errors"] = {err.field or "ids": err.message}
        return render(TEMPLATE, "bulk_result", status=err.status, **ctx)
    ctx["message"] = _bulk_message(action, out)
    ctx["offers"] = sorted({c.id: c for c in out["first_paid"]}.values(), key=lambda c: c.name_key)
    body = render_block(TEMPLATE, "bulk_result", **ctx)
    return done(ctx["message"], ["rooms-changed", "companies-changed"], url_for("rooms.index"), body=body)
