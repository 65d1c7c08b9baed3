"""Search: one statement builder per resource, scoped by the tenant hook when executed."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from extensions import db

from .schema import Company, Contact, Hosting, Room

def _like(q: str) -> str:
    q = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{q}%"


def search_companies(q: str = "", type_: str | None = None, status: str | None = None):
    stmt = select(Company)
    if q:
        stmt = stmt.where(Company.name_key.like(_like(q), escape="\\"))
    if type_:
        stmt = stmt.where(Company.type == type_)
    if status:
        stmt = stmt.where(Company.status == status)
    return stmt


def search_contacts(q: str = "", company_id: int | None = None, state: str | None = None):
    stmt = select(Contact).join(Company, Contact.company_id == Company.id)
    if q:
        like = _like(q)
        stmt = stmt.where(
            or_(
                func.lower(Contact.first_name + " " + Contact.last_name).like(like, escape="\\"),
                Contact.email.like(like, escape="\\"),
            )
        )
    if company_id:
        stmt = stmt.where(Contact.company_id == company_id)
    if state:
        stmt = stmt.where(Contact.state == state)
    return stmt


def search_rooms(q: str = "", company_id: int | None = None, status: str | None = None, product_type: str | None = None):
    stmt = select(Room).join(Company, Room.company_id == Company.id)
    if q:
        like = _like(q)
        stmt = stmt.where(or_(Room.name_key.like(like, escape="\\"), Room.slug.like(like, escape="\\")))
    if company_id:
        stmt = stmt.where(Room.company_id == company_id)
    if status:
        stmt = stmt.where(Room.status == status)
    if product_type:
        stmt = stmt.where(Room.product_type == product_type)
    return stmt


def host_counts(room_ids) -> dict[int, int]:
    ids = list(room_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Hosting.room_id, func.count()).where(Hosting.room_id.in_(ids)).group_by(Hosting.room_id)
    )
    return dict(rows.all())
