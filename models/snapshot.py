"""Rows as JSON and back: what the Trash keeps of a deleted object, and how Restore puts it back.

``capture`` reads the rows of companies, contacts, rooms and hostings (the hosting links with their
owner flags) as plain dicts; ``put_back`` inserts them again, in an order the foreign keys accept,
with their original ids, so every link and the contact's company are exactly as they were.

SQLite gives a new row the highest id + 1, so a trashed row with the highest id would see its id
reused and its restore collide. ``keep_trashed_ids`` makes every new row of these tables take an id
above the live rows and above the rows in the Trash, in the INSERT itself (one statement, under the
write lock: two writers cannot pick the same one). PostgreSQL's sequences never hand an id out twice.
"""
from __future__ import annotations

import json
from datetime import date, datetime

from sqlalchemy import DateTime, Date, event, func, select

from .schema import Company, Contact, Hosting, Room
from .trash_schema import TrashItem

# Insert order (the foreign keys'), and the Trash column holding each table's highest trashed id.
TABLES = {"companies": (Company, "top_company_id"), "contacts": (Contact, "top_contact_id"),
          "rooms": (Room, "top_room_id"), "hostings": (Hosting, "top_hosting_id")}


def _plain(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def rows(model, *where) -> list[dict]:
    """The rows of ``model``'s table that match, as JSON-ready dicts (every column, by column name)."""
    from extensions import db

    table = model.__table__
    result = db.session.execute(select(table).where(*where).order_by(table.c.id))
    return [{key: _plain(value) for key, value in row._mapping.items()} for row in result]


def capture(**parts: list[dict]) -> dict:
    """A snapshot: {"companies": [...], "contacts": [...], "rooms": [...], "hostings": [...]}."""
    return {name: parts.get(name, []) for name in TABLES}


def tops(snapshot: dict) -> dict:
    """The highest id per table in the snapshot, as TrashItem's top_* columns."""
    return {col: max((r["id"] for r in snapshot.get(name, [])), default=None) for name, (_m, col) in TABLES.items()}


def dumps(snapshot: dict) -> str:
    return json.dumps(snapshot, sort_keys=True)


def loads(text: str) -> dict:
    return json.loads(text)


def _typed(table, row: dict) -> dict:
    out = {}
    for key, value in row.items():
        if key not in table.c:
            continue  # a column dropped since the delete
        col_type = table.c[key].type
        if value is not None and isinstance(col_type, DateTime):
            value = datetime.fromisoformat(value)
        elif value is not None and isinstance(col_type, Date):
            value = date.fromisoformat(value)
        out[key] = value
    return out


def put_back(snapshot: dict) -> None:
    """Insert the snapshot's rows with their original ids (the caller checked that nothing collides)."""
    from extensions import db

    for name, (model, _col) in TABLES.items():
        table = model.__table__
        batch = [_typed(table, row) for row in snapshot.get(name, [])]
        if batch:
            db.session.execute(table.insert(), batch)


def _next_id(model, top_column):
    live = select(func.max(model.__table__.c.id)).scalar_subquery()
    trashed = select(func.max(top_column)).scalar_subquery()
    return select(func.max(func.coalesce(live, 0), func.coalesce(trashed, 0)) + 1).scalar_subquery()


def keep_trashed_ids() -> None:
    for model, col in TABLES.values():
        top = getattr(TrashItem, col)

        def before_insert(_mapper, connection, target, model=model, top=top):
            if connection.dialect.name == "sqlite" and target.id is None:
                target.id = _next_id(model, top)

        event.listen(model, "before_insert", before_insert)


keep_trashed_ids()
