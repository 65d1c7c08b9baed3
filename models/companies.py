"""Client companies: create, edit, counts and delete."""
from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Date, and_, bindparam, case, func, or_, select

from extensions import db

from .audit import apply_changes, audit, created
from .conflicts import guarded
from .errors import RuleError
from .rules import clean_choice, clean_name
from .schema import (COMPANY_TYPES, CUSTOMER_STATUSES, Company, CompanyType, Contact, ContactState, Hosting, Room,
                     RoomStatus, today)

def company_name_taken(reseller_id: int, name: str, exclude_id: int | None = None) -> bool:
    stmt = select(Company.id).where(Company.reseller_id == reseller_id, Company.name_key == name.lower())
    if exclude_id:
        stmt = stmt.where(Company.id != exclude_id)
    return db.session.execute(stmt.execution_options(unscoped=True)).first() is not None


def check_company_name(reseller_id: int, value: str | None, exclude_id: int | None = None) -> str:
    """A company's name: given and not the name of another company of the reseller, or RuleError."""
    name = clean_name(value)
    if company_name_taken(reseller_id, name, exclude_id):
        raise RuleError(f"A company named “{name}” already exists (names ignore case).", "name")
    return name


def _company_fields(data: dict, reseller_id: int, exclude_id: int | None = None) -> dict:
    name = check_company_name(reseller_id, data.get("name"), exclude_id)
    return {
        "name": name,
        "name_key": name.lower(),
        "type": clean_choice(data.get("type"), COMPANY_TYPES, "type", "Type"),
        "status": clean_choice(data.get("status"), CUSTOMER_STATUSES, "status", "Customer status"),
        "branded": bool(data.get("branded")),
    }


@guarded
def create_company(reseller_id: int, data: dict, own: bool = False) -> Company:
    """A client company; ``own`` is the reseller's own company (type Reseller), made with the reseller."""
    fields = _company_fields(data, reseller_id)
    if (fields["type"] == CompanyType.RESELLER) != own:
        raise RuleError("Only the reseller's own company has type Reseller.", "type")
    company = Company(reseller_id=reseller_id, **fields)
    db.session.add(company)
    db.session.flush()
    audit("create", company, f"Created company {company.name}", created(company))
    return company


@guarded
def update_company(company: Company, data: dict) -> Company:
    fields = _company_fields(data, company.reseller_id, company.id)
    if (fields["type"] == CompanyType.RESELLER) != (company.type == CompanyType.RESELLER):
        raise RuleError("The type Reseller belongs to the reseller's own company and cannot be changed.", "type")
    diff = apply_changes(company, fields)
    diff.pop("name_key", None)
    if diff:
        db.session.flush()
        audit("update", company, f"Edited company {company.name}", diff)
    return company


# The counts below read the contacts and rooms tables as Core tables, not as mapped classes, so the tenant
# hook adds no "reseller_id = ?" to them: a company's contacts and rooms are always its reseller's, and
# that extra condition let SQLite pick the reseller_id index (every contact of the reseller, for each
# company) over company_id (its own few): at size L, minutes instead of milliseconds for a sort by count.
_contacts, _rooms = Contact.__table__.c, Room.__table__.c


def _count(cols, company_id, *where):
    return select(func.count()).where(cols.company_id == company_id, *where).scalar_subquery()


def _live_room(cols, on=None):
    """Room.live_clause on the table's columns (live ``on`` a date or a date parameter; today by default)."""
    return and_(cols.suspended.is_(False),
                or_(cols.status == RoomStatus.PAID, cols.end_date >= (today() if on is None else on)))


def live_contacts_of_company(company_id=Company.id):
    """Correlated count of a company's live contacts: for sorting the Companies list by it, and the page's counts."""
    return _count(_contacts, company_id, _contacts.state == ContactState.LIVE)


def live_rooms_of_company(company_id=Company.id, on=None):
    """Correlated count of a company's live rooms (live ``on``, today by default): for sorting, and the counts."""
    return _count(_rooms, company_id, _live_room(_rooms, on))


def company_counts(company_ids) -> dict[int, dict]:
    """Live contacts, live rooms, all contacts and all rooms per company, in one query: four correlated
    counts per company of the page, each an index range on company_id. ``company_ids`` come from a
    scoped query (the page of companies), so the counts need no scope of their own: a Core statement,
    built once (_counts_statement) and run with this page's ids and today's date."""
    ids = list(company_ids)
    out = {i: {"live_contacts": 0, "live_rooms": 0, "contacts": 0, "rooms": 0} for i in ids}
    if not ids:
        return out
    rows = db.session.connection().execute(_counts_statement(), {"ids": ids, "today": today()})
    for cid, live_contacts, live_rooms, contacts, rooms in rows:
        out[cid] = {"live_contacts": live_contacts, "live_rooms": live_rooms, "contacts": contacts, "rooms": rooms}
    return out


@lru_cache(maxsize=1)
def _counts_statement():
    company_id = Company.__table__.c.id
    return (select(company_id, live_contacts_of_company(company_id),
                   live_rooms_of_company(company_id, bindparam("today", type_=Date)),
                   _count(_contacts, company_id), _count(_rooms, company_id))
            .where(company_id.in_(bindparam("ids", expanding=True))))


def case_when(cond):
    return case((cond, 1), else_=0)


def company_delete_impact(company: Company) -> dict:
    counts = company_counts([company.id])[company.id]
    return {"contacts": counts["contacts"], "rooms": counts["rooms"]}


def describe_impact(impact: dict) -> str:
    parts = []
    for key, noun in (("contacts", "contact"), ("rooms", "room"), ("hosts", "host link")):
        n = impact.get(key)
        if n is not None:
            parts.append(f"{n} {noun}{'' if n == 1 else 's'}")
    return " and ".join(parts) if parts else "nothing else"
