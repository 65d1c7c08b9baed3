"""Companies: the list, Edit company with its contacts, and delete with its impact."""
from flask import Blueprint, abort, request, url_for
from flask_login import current_user, login_required
from jinja2_fragments.flask import render_block
from sqlalchemy.orm import joinedload

import models
from extensions import db
from models import Company, CompanyType, RuleError, get_or_404
from permissions import can
from csv_export import BATCH, stream_csv
from models.imports import export_header
from listing import ListArgs, keep_shown
from web import check_field, done, for_reseller, form_error, render, render_delete_confirm, render_list

bp = Blueprint("companies", __name__)

SORTS = {
    "name": Company.name_key,
    "type": Company.type,
    "status": Company.status,
    "branded": Company.branded,
    "created": Company.created_at,
    "contacts": models.live_contacts_of_company(),
    "rooms": models.live_rooms_of_company(),
}
FILTERS = {"type": models.COMPANY_TYPES, "status": models.CUSTOMER_STATUSES, "rooms": ("none",), "reseller": int}  # rooms=none: no live room (Home)


@bp.before_request
@login_required
def require_login():
    if not can(current_user, "manage"):
        abort(404)


def _reseller_id_for_new() -> int:
    """The reseller a new company belongs to: the signed-in reseller's."""
    if not can(current_user, "create_company"):
        abort(404)
    return current_user.reseller_id


@bp.get("/companies")
def index():
    args = ListArgs(SORTS, "name", FILTERS)
    stmt = for_reseller(models.search_companies(args.q, args.filters.get("type"), args.filters.get("status")), args,
                        Company.reseller_id)
    if args.filters.get("rooms") == "none":
        stmt = stmt.where(models.lifecycle.no_live_room())
    page = keep_shown(args.paginate(stmt.options(joinedload(Company.reseller)), Company.id), Company,
                      [joinedload(Company.reseller)])
    counts = models.company_counts(c.id for c in page.items)  # one aggregate query for the page
    return render_list("companies/index.html", "company", args=args, page=page, counts=counts)


@bp.get("/companies/export.csv")
def export():
    """The list as it is filtered, searched and sorted, every page of it, streamed as CSV."""
    args = ListArgs(SORTS, "name", FILTERS)
    stmt = models.search_companies(args.q, args.filters.get("type"), args.filters.get("status"))
    stmt = args.order(stmt.add_columns(models.live_contacts_of_company(), models.live_rooms_of_company()), Company.id)

    def rows():
        for company, live_contacts, live_rooms in db.session.execute(stmt.execution_options(yield_per=BATCH)):
            yield (company.name, company.type, company.status, company.branded, company.created_at.date(),
                   live_contacts, live_rooms)

    return stream_csv("companies.csv", export_header("companies"), rows())


@bp.get("/companies/new")
def new():
    _reseller_id_for_new()
    return render("companies/edit.html", "company_form", company=None, form={}, errors={})


@bp.post("/companies")
def create():
    try:
        company = models.create_company(_reseller_id_for_new(), request.form)
        db.session.commit()
    except RuleError as err:
        return form_error("companies/edit.html", "company_form", err, company=None)
    return done(f"Added company {company.name}", ["companies-changed"], url_for("companies.index"),
                changed=f"company-{company.id}")


@bp.get("/companies/check-name")
def check_name():
    """The name field re-checked as the user types (add or edit): the save's words, nothing saved."""
    company_id = request.args.get("company_id")
    company = _company_to_edit(company_id) if company_id else None
    reseller_id = company.reseller_id if company else _reseller_id_for_new()
    return check_field("companies/edit.html", "company_name_field", "name",
                       lambda value: models.check_company_name(reseller_id, value, company.id if company else None),
                       company=company)


@bp.get("/companies/<int:company_id>/edit")
def edit(company_id):
    company = _company_to_edit(company_id)
    return render("companies/edit.html", "company_form", company=company, form={}, errors={},
                  contacts=company_contacts(company))


def _company_to_edit(company_id) -> Company:
    company = get_or_404(Company, company_id)
    if not can(current_user, "edit_company", company):
        abort(404)
    return company


def _company_to_delete(company_id) -> Company:
    company = get_or_404(Company, company_id)
    if not can(current_user, "delete_company", company):
        abort(404)
    return company


def company_contacts(company):
    stmt = models.search_contacts(company_id=company.id)
    return db.session.execute(stmt.order_by(models.Contact.last_name, models.Contact.first_name)).scalars().all()


@bp.post("/companies/<int:company_id>")
def update(company_id):
    company = _company_to_edit(company_id)
    try:
        models.save_edit(company, request.form, models.update_company, can(current_user, "set_terms", company))
        db.session.commit()
    except RuleError as err:
        return form_error("companies/edit.html", "company_form", err, company=company,
                          contacts=company_contacts(company))
    return done(f"Saved company {company.name}", ["companies-changed"], url_for("companies.edit", company_id=company.id),
                body=render_saved_form(company))


def render_saved_form(company):
    return render_block("companies/edit.html", "company_form", company=company, form={}, errors={}, saved=True)


@bp.get("/companies/<int:company_id>/delete")
def confirm_delete(company_id):
    company = _company_to_delete(company_id)
    impact = models.company_delete_impact(company)
    blocked = "The reseller's own company cannot be deleted." if company.type == CompanyType.RESELLER else None
    return render_delete_confirm(f"company {company.name}", f"Deletes {company.name} with {models.describe_impact(impact)}.",
                                 url_for("companies.delete", company_id=company.id), url_for("companies.index"), blocked)


@bp.post("/companies/<int:company_id>/delete")
def delete(company_id):
    company = _company_to_delete(company_id)
    name = company.name
    item = models.trash_company(company)
    db.session.commit()
    return done(f"Deleted company {name} with {models.describe_impact(item.impact)}",
                ["companies-changed", "contacts-changed", "rooms-changed", "trash-changed"], url_for("companies.index"),
                undo=url_for("trash.restore", item_id=item.id))
