"""History and Activity: the audit trail of each company, contact and room, and the whole log.

A History opens in the side panel (htmx) or as a page; Activity is a page with its filters in the
URL. Both are newest first and page by id (Older / Newer), without counting the log.
"""
from __future__ import annotations

import unicodedata
from datetime import date

from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

import models
from extensions import db
from models import Company, Contact, Reseller, Role, Room, get_or_404
from permissions import can
from csv_export import BATCH, stream_csv
from listing import parse_int
from web import render

bp = Blueprint("activity", __name__)


@bp.before_request
@login_required
def require_login():
    pass


def _cursor(name: str) -> int | None:
    value = parse_int(request.args.get(name))
    return value if value is not None and value > 0 else None


def _page(stmt, size_key: str):
    size = current_app.config.get(size_key, 50)
    return models.event_page(stmt, before=_cursor("before"), after=None if _cursor("before") else _cursor("after"),
                             size=size)


# ---------------------------------------------------------------- History of one object


def _history(obj, title: str, endpoint: str, back: str, **ids):
    if not can(current_user, "history", obj):
        abort(404)
    page = _page(models.history_stmt(obj), "HISTORY_PAGE_SIZE")
    return render("activity/history.html", "history_panel", page=page, title=title, kind=type(obj).__name__,
                  url=lambda **cursor: url_for(endpoint, **ids, **cursor), back_url=back)


@bp.get("/companies/<int:company_id>/history")
def company_history(company_id):
    company = get_or_404(Company, company_id)
    return _history(company, company.name, "activity.company_history",
                    url_for("companies.edit", company_id=company.id), company_id=company.id)


@bp.get("/contacts/<int:contact_id>/history")
def contact_history(contact_id):
    contact = get_or_404(Contact, contact_id)
    return _history(contact, contact.name, "activity.contact_history",
                    url_for("contacts.edit", contact_id=contact.id), contact_id=contact.id)


@bp.get("/rooms/<int:room_id>/history")
def room_history(room_id):
    room = get_or_404(Room, room_id)
    return _history(room, room.name, "activity.room_history", url_for("rooms.edit", room_id=room.id),
                    room_id=room.id)


# ---------------------------------------------------------------- Activity


class ActivityFilters:
    """The Activity filters from the URL, checked: ``values`` for the query, ``errors`` by field."""

    NAMES = ("who", "actor", "action", "type", "from", "to", "reseller")

    def __init__(self, args, admin: bool):
        self.values: dict = {}
        self.errors: dict[str, str] = {}
        who = (args.get("who") or "").strip()
        if len(who) > 100:
            self.errors["who"] = "Who: type at most 100 characters of a name."
        elif any(unicodedata.category(ch) in ("Cc", "Cs") for ch in who):
            self.errors["who"] = "Who: type a name (letters, not control characters)."
        elif who:
            self.values["who"] = who
        if args.get("actor"):
            actor = parse_int(args.get("actor"))
            if actor is None or actor < 1:
                self.errors["who"] = "That person is not known. Type a name instead."
            else:
                self.values["actor"] = actor
        action = args.get("action") or ""
        if action and action not in models.ACTION_LABELS:
            self.errors["action"] = "Choose a kind of change from the list."
        elif action:
            self.values["action"] = action
        kind = args.get("type") or ""
        if kind and kind not in models.OBJECT_TYPES:
            self.errors["type"] = "Choose an object type from the list: company, contact, room or reseller settings."
        elif kind:
            self.values["type"] = kind
        for name, label in (("from", "From"), ("to", "To")):
            raw = (args.get(name) or "").strip()
            if not raw:
                continue
            try:
                if len(raw) != 10:
                    raise ValueError
                self.values[name] = date.fromisoformat(raw)
            except ValueError:
                self.errors[name] = f"{label} must be a date like 2026-12-31."
        if "from" in self.values and "to" in self.values and self.values["to"] < self.values["from"]:
            self.errors["to"] = "To cannot be before From."
        if admin and args.get("reseller"):
            reseller = parse_int(args.get("reseller"))
            if reseller is None or reseller < 1:
                self.errors["reseller"] = "Choose a reseller from the list."
            else:
                self.values["reseller"] = reseller

    def stmt(self):
        v = self.values
        return models.activity_stmt(actor_id=v.get("actor"), who=v.get("who", ""), action=v.get("action"),
                                    object_type=v.get("type"), start=v.get("from"), end=v.get("to"),
                                    reseller_id=v.get("reseller"))

    def url(self, endpoint: str = "activity.index", **cursor) -> str:
        params = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in self.values.items()}
        return url_for(endpoint, **params, **cursor)


def _screen(filters: ActivityFilters, admin: bool):
    resellers = []
    if admin:
        resellers = [tuple(r) for r in db.session.execute(
            select(Reseller.id, Reseller.name).order_by(func.lower(Reseller.name)))]
    status = 422 if filters.errors else 200
    page = models.EventPage([], None, None) if filters.errors else _page(filters.stmt(), "ACTIVITY_PAGE_SIZE")
    names = dict(resellers)
    return render("activity/index.html", "activity_screen", status=status, page=page, filters=filters,
                  errors=filters.errors, form=request.args, resellers=resellers, reseller_names=names,
                  actions=list(models.ACTION_LABELS.items()), types=list(models.OBJECT_TYPES.items()))


def _filters() -> tuple[ActivityFilters, bool]:
    if not can(current_user, "activity"):
        abort(404)
    admin = current_user.has_role(Role.ADMINISTRATOR)
    return ActivityFilters(request.args, admin), admin


@bp.get("/activity")
def index():
    return _screen(*_filters())


EXPORT_HEADER = ["id", "when", "who", "what", "object type", "object id", "reseller id", "company id", "summary",
                 "changes"]


@bp.get("/activity/export.csv")
def export():
    """The Activity with its filters as CSV, newest first, streamed in batches."""
    filters, admin = _filters()
    if filters.errors:
        return _screen(filters, admin)
    stmt = filters.stmt().order_by(models.AuditEvent.id.desc()).execution_options(yield_per=BATCH)

    def rows():
        for event in db.session.execute(stmt).scalars():
            e = models.Entry(event)
            changes = "; ".join(f"{name}: {before} -> {after}" for name, before, after in e.fields)
            yield (event.id, e.when, e.who, e.label, e.object_label, event.object_id, event.reseller_id,
                   event.company_id, event.summary, changes)
    return stream_csv("activity.csv", EXPORT_HEADER, rows())
