"""Contacts: the list with search, the contact screen with the rooms they host, Link room / Unlink,
Change company, delete with its impact, and the inline contact rows of the Edit company screen
(add, edit and delete contacts in place).

Inline rows: the same routes answer with a table row instead of a form or screen when the request
is an htmx one and carries ``inline=1``; without htmx they fall back to the full contact screen.
"""
from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block, render_blocks
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

import embed_frame
import models
from blueprints import hosting
from extensions import db
from models import Company, Contact, Room, RuleError, get_or_404
from permissions import can
from csv_export import BATCH, stream_csv
from models.imports import export_header
from listing import ListArgs, keep_shown
from web import (check_field, done, for_reseller, form_error, render, render_delete_confirm, render_list,
                 wants_fragment)

bp = Blueprint("contacts", __name__)

SCREEN = "contacts/edit.html"
SORTS = {
    "name": models.search.contact_last_first(),  # the expression ix_search_contacts_last_first indexes
    "email": Contact.email,
    "company": Company.name_key,
    "state": Contact.state,
    "created": Contact.created_at,
}
FILTERS = {"company": int, "state": models.CONTACT_STATES, "reseller": int}
# A new, edited or deleted contact changes the company's live-contact count too.
CHANGED = ["contacts-changed", "companies-changed"]


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "manage"):
        abort(404)


def _inline() -> bool:
    return request.values.get("inline") == "1"


def _contact_or_404(contact_id) -> Contact:
    """A contact in scope. Administrators belong to no company and are not managed here."""
    contact = get_or_404(Contact, contact_id)
    if contact.company_id is None:
        abort(404)
    return contact


def _company_or_none(value) -> Company | None:
    """The company named by a company_id parameter: None when absent, 404 when unknown or foreign."""
    if value in (None, ""):
        return None
    return get_or_404(Company, value)


def _companies() -> list[tuple[int, str]]:
    """Choices for a new contact's company, as (id, name) (the scope does the filtering)."""
    return [(c.id, c.name) for c in db.session.execute(select(Company).order_by(Company.name_key)).scalars()]


def _screen(contact: Contact | None = None, company: Company | None = None, **extra) -> dict:
    """Everything the contact screen (contacts/edit.html) and its blocks use."""
    ctx = {
        "contact": contact,
        "company": company or (contact.company if contact else None),
        "companies": [],
        "form": {},
        "errors": {},
        "saved": False,
        "hosted": [],
        "other_rooms": 0,
        "linkable": [],
        "link_errors": {},
        "change": None,
    }
    if contact is not None:
        ctx["hosted"] = models.rooms_by_contact([contact.id])[contact.id]
        ctx["linkable"] = models.linkable_rooms(contact)
        if not ctx["linkable"] and ctx["hosted"]:  # "hosts the others" only when there are others
            ctx["other_rooms"] = db.session.scalar(
                select(func.count(Room.id)).where(Room.company_id == contact.company_id,
                                                  Room.id.not_in([room.id for room, _ in ctx["hosted"]])))
    ctx.update(extra)
    return ctx


# ---------------------------------------------------------------- list


@bp.get("/contacts")
def index():
    args = ListArgs(SORTS, "name", FILTERS)
    company_id = args.filters.get("company")
    company = get_or_404(Company, company_id) if company_id is not None else None
    stmt = models.search_contacts(args.q, company_id, args.filters.get("state"), joined=False)
    stmt = for_reseller(stmt, args, Contact.reseller_id)
    page = keep_shown(args.paginate(stmt, Contact.id, load=lambda query: models.search.with_companies(query, Contact)),
                      Contact, [joinedload(Contact.company)])
    hosted = models.rooms_by_contact(c.id for c in page.items)  # one query for the whole page
    return render_list("contacts/index.html", "contact", args=args, page=page, hosted=hosted, company=company)


@bp.get("/contacts/export.csv")
def export():
    """The list as it is filtered, searched and sorted, every page of it, streamed as CSV."""
    args = ListArgs(SORTS, "name", FILTERS)
    company_id = args.filters.get("company")
    if company_id is not None:
        get_or_404(Company, company_id)
    stmt = models.search_contacts(args.q, company_id, args.filters.get("state"))
    stmt = for_reseller(stmt, args, Contact.reseller_id)
    stmt = args.order(stmt.add_columns(Company.name), Contact.id)

    def rows():
        for contact, company in db.session.execute(stmt.execution_options(yield_per=BATCH)):
            yield (contact.email, contact.first_name, contact.last_name, company, contact.phone, contact.state,
                   contact.created_at.date())

    return stream_csv("contacts.csv", export_header("contacts"), rows())


# ---------------------------------------------------------------- add


@bp.get("/contacts/new")
def new():
    company = _company_or_none(request.args.get("company_id"))
    return render(SCREEN, "contact_form", **_screen(company=company, companies=[] if company else _companies()))


@bp.post("/contacts")
def create():
    inline = _inline()
    company = _company_or_none(request.form.get("company_id"))
    if company is None:
        err = RuleError("Choose the company this contact belongs to.", "company_id")
        return form_error(SCREEN, "contact_form", err, **_screen(companies=_companies()))
    try:
        contact = models.create_contact(company, request.form)
        db.session.commit()
    except RuleError as err:
        return form_error(SCREEN, "contact_add_row" if inline else "contact_form", err, **_screen(company=company))
    message = f"Added contact {contact.name} to {company.name}"
    if inline:
        # The new row takes the place of the add row, followed by a fresh, empty add row.
        body = render_blocks(SCREEN, ["contact_row", "contact_add_row"], contact=contact, company=company,
                             form={}, errors={})
        return done(message, CHANGED, url_for("companies.edit", company_id=company.id), body=body)
    return done(message, CHANGED, url_for("contacts.edit", contact_id=contact.id), changed=f"contact-{contact.id}")


@bp.get("/contacts/check-email")
def check_email():
    """The email field re-checked as the user types (add or edit): the save's words, nothing saved."""
    contact = _contact_or_404(request.args["contact_id"]) if request.args.get("contact_id") else None
    return check_field(SCREEN, "contact_email_field", "email",
                       lambda value: models.clean_contact_email(value, contact.id if contact else None), contact=contact)


# ---------------------------------------------------------------- the contact screen


@bp.get("/contacts/<int:contact_id>")
def show(contact_id):
    """The contact's row (inline, for Cancel on the Edit company screen); otherwise the contact screen."""
    contact = _contact_or_404(contact_id)
    if _inline() and wants_fragment():
        return render(SCREEN, "contact_row", contact=contact)
    return render(SCREEN, "contact_screen", **_screen(contact))


@bp.get("/contacts/<int:contact_id>/edit")
def edit(contact_id):
    contact = _contact_or_404(contact_id)
    if _inline() and wants_fragment():
        return render(SCREEN, "contact_row_form", contact=contact, form={}, errors={})
    return render(SCREEN, "contact_screen", **_screen(contact))


@bp.post("/contacts/<int:contact_id>")
def update(contact_id):
    contact = _contact_or_404(contact_id)
    inline = _inline()
    embed_frame.refuse_reseller_email_change(contact, request.form)  # 403 inside a partner's frame
    try:
        models.check_version(contact, request.form.get("version"))
        models.update_contact(contact, request.form)
        db.session.commit()
    except RuleError as err:
        return form_error(SCREEN, "contact_row_form" if inline else "contact_form", err, **_screen(contact))
    message = f"Saved contact {contact.name}"
    if inline:
        body = render_block(SCREEN, "contact_row", contact=contact)
        return done(message, CHANGED, url_for("companies.edit", company_id=contact.company_id), body=body)
    body = render_block(SCREEN, "contact_form", **_screen(contact, saved=True))
    return done(message, CHANGED, url_for("contacts.edit", contact_id=contact.id), body=body)


# ---------------------------------------------------------------- rooms they host: Link room / Unlink


def _rooms(contact: Contact) -> hosting.Panel:
    return hosting.Panel(SCREEN, "contact_rooms", url_for("contacts.edit", contact_id=contact.id),
                         "link_errors", "room_id", lambda: _screen(contact))


@bp.get("/contacts/<int:contact_id>/rooms")
def rooms(contact_id):
    contact = _contact_or_404(contact_id)
    return render(SCREEN, "contact_rooms", **_screen(contact))


@bp.post("/contacts/<int:contact_id>/rooms")
def link_room(contact_id):
    contact = _contact_or_404(contact_id)
    return _rooms(contact).link_chosen("Choose a room to link.", lambda room_id: (get_or_404(Room, room_id), contact))


@bp.post("/contacts/<int:contact_id>/rooms/<int:room_id>/unlink")
def unlink_room(contact_id, room_id):
    contact = _contact_or_404(contact_id)
    return _rooms(contact).change(hosting.unlink, get_or_404(Room, room_id), contact)


# ---------------------------------------------------------------- Change company


def _change(contact: Contact, target: Company | None, error: str | None = None) -> dict:
    """The Change company step: the other companies of the contact's reseller and, once one is
    chosen, the room links the move removes (or why it is not possible)."""
    companies = db.session.execute(
        select(Company)
        .where(Company.reseller_id == contact.reseller_id, Company.id != contact.company_id)
        .order_by(Company.name_key)
    ).scalars().all()
    change = {"companies": companies, "target": target, "removed": [], "error": error}
    if target is not None and error is None:
        try:
            models.change_company_check(contact, target)
        except RuleError as err:
            if err.status == 404:
                abort(404)
            change["error"] = err.message
        else:
            change["removed"] = models.change_company_impact(contact, target)
    return change


def _contact_to_move(contact_id) -> Contact:
    contact = _contact_or_404(contact_id)
    if not can(current_user, "change_company", contact):
        abort(404)
    return contact


@bp.get("/contacts/<int:contact_id>/change-company")
def confirm_change_company(contact_id):
    contact = _contact_to_move(contact_id)
    target = _company_or_none(request.args.get("company_id"))
    return render(SCREEN, "change_company", **_screen(contact, change=_change(contact, target)))


@bp.post("/contacts/<int:contact_id>/change-company")
def change_company(contact_id):
    contact = _contact_to_move(contact_id)
    target = _company_or_none(request.form.get("company_id"))
    if target is None:
        change = _change(contact, None, f"Choose the company to move {contact.name} to.")
        return render(SCREEN, "change_company", status=422, **_screen(contact, change=change))
    name = contact.name
    try:
        removed = models.change_company(contact, target)
        db.session.commit()
    except RuleError as err:
        db.session.rollback()
        if err.status == 404:
            abort(404)
        change = _change(contact, target, err.message)
        return render(SCREEN, "change_company", status=err.status, **_screen(contact, change=change))
    message = f"Moved {name} to {target.name}"
    if removed:
        message += f"; unlinked from {', '.join(r.name for r in removed)}"
    # contact-moved: an open contact screen reloads (new company, rooms and version).
    return done(message, CHANGED + ["rooms-changed", "contact-moved"], url_for("contacts.edit", contact_id=contact.id))


# ---------------------------------------------------------------- delete


def _delete_impact(contact: Contact) -> str:
    impact = models.describe_impact(models.contact_delete_impact(contact))
    rooms = models.contact_rooms(contact)
    where = f" ({', '.join(r.name for r in rooms)})" if rooms else ""
    return f"Deletes contact {contact.name} with {impact}{where}."


@bp.get("/contacts/<int:contact_id>/delete")
def confirm_delete(contact_id):
    contact = _contact_or_404(contact_id)
    impact = _delete_impact(contact)
    blocked = models.contact_delete_blocker(contact)
    if _inline() and wants_fragment():
        return render(SCREEN, "contact_row_delete", contact=contact, impact=impact, blocked=blocked)
    return render_delete_confirm(f"contact {contact.name}", impact, url_for("contacts.delete", contact_id=contact.id),
                                 url_for("contacts.index", company=contact.company_id), blocked)


@bp.post("/contacts/<int:contact_id>/delete")
def delete(contact_id):
    contact = _contact_or_404(contact_id)
    name, company_id = contact.name, contact.company_id
    item = models.trash_contact(contact)  # a refusal (RuleError) is answered by the app's handler
    db.session.commit()
    fallback = url_for("companies.edit", company_id=company_id) if _inline() else url_for("contacts.index")
    return done(f"Deleted contact {name} with {models.describe_impact(item.impact)}",
                CHANGED + ["rooms-changed", "trash-changed"], fallback, undo=url_for("trash.restore", item_id=item.id))
