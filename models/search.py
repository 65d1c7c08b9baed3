"""Search: one statement builder per resource, scoped by the tenant hook when executed.

A term of 3 or more characters is a case-insensitive substring, answered by an index: FTS5 trigram
tables on SQLite, pg_trgm GIN indexes on PostgreSQL (see ``search_index``). Results come by
relevance (exact, then starts with, then a word starts with, then anywhere), then by the list's sort.
A term of 1–2 characters (too short for a trigram) matches names that start with it, through a
(reseller_id, key) B-tree, and at most ``SHORT_TERM_CAP`` rows by name.

The work stays bounded for common terms ("son" is in 7,000 contacts at size L): the substring
candidates are cut at ``SEARCH_CAP`` rows of the tenant (the first found), and the names that start
with the term (the most relevant ones) are added through the prefix index, so they are never cut away.
Bad input never raises: control characters are dropped, the term is cut to ``TERM_MAX`` characters,
LIKE wildcards are escaped and FTS5 syntax is quoted as one phrase.
"""
from __future__ import annotations

import re

from sqlalchemy import case, column, func, literal_column, or_, select, table, union_all

from extensions import db

from . import search_index
from .schema import Company, Contact, Hosting, Room

search_index.register(db.metadata)

TERM_MAX = 100
SHORT_TERM_CAP = 500
SEARCH_CAP = 1000
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_term(q: str | None) -> str:
    """The lower-cased term: no control characters (a NUL would end a C string), single spaces, at most TERM_MAX."""
    q = _CONTROL.sub(" ", q or "")
    return " ".join(q.split())[:TERM_MAX].strip().lower()


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _like(q: str) -> str:
    return f"%{_escape(q.lower())}%"


def _match(term: str) -> str:
    """One FTS5 phrase: NEAR, AND, OR, -, ^, * and quotes inside it are plain text."""
    return '"' + term.replace('"', '""') + '"'


def _fts_ids(name: str, term: str):
    """rowids of an FTS5 table whose indexed text contains ``term``."""
    fts = table(name, column("rowid"))
    return select(fts.c.rowid).where(literal_column(name).op("MATCH")(_match(term)))


def _next_prefix(term: str) -> str | None:
    """The smallest string above every string that starts with ``term`` (code point order)."""
    code = ord(term[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000
    return term[:-1] + chr(code) if code <= 0x10FFFF else None


def _starts_with(key, term: str):
    """key starts with term, as a range an index on key serves (byte/code point order on both databases)."""
    upper = _next_prefix(term)
    if _dialect() == "postgresql":  # text_pattern_ops operators: indexable even in a generic plan
        lo, hi = key.op("~>=~", is_comparison=True)(term), key.op("~<~", is_comparison=True)(upper or "\U0010ffff")
    else:
        lo, hi = key >= term, key < (upper or "\U0010ffff")
    return lo & hi


def _relevance(key, term: str):
    """0 exact, 1 starts with, 2 a word starts with, 3 elsewhere in the name, 4 matched another field."""
    esc = _escape(term)
    return case(
        (key == term, 0),
        (key.like(f"{esc}%", escape="\\"), 1),
        (key.like(f"% {esc}%", escape="\\"), 2),
        (key.like(f"%{esc}%", escape="\\"), 3),
        else_=4,
    )


def _capped_prefix_ids(model, key, term: str):
    return select(model.id).where(_starts_with(key, term)).order_by(key).limit(SHORT_TERM_CAP)


def _capped(model, condition):
    """At most SEARCH_CAP ids of the tenant's rows that meet ``condition`` (an ORM select: the scope applies)."""
    return select(model.id).where(condition).limit(SEARCH_CAP)


def _any_of(*selects):
    """The candidate ids, as a common table expression: the page and its capped count (web.ListArgs.paginate)
    both read it, and both databases compute a CTE that a statement names twice only once."""
    return select(union_all(*(s.subquery().select() for s in selects)).cte("matches"))


# Expressions the search indexes are built on (search_index): the same text, so the planner matches them.
def contact_full_name():
    return func.lower(Contact.first_name + literal_column("' '") + Contact.last_name)


def contact_last_first():
    return func.lower(Contact.last_name + literal_column("' '") + Contact.first_name)


def company_ids_matching(term: str):
    """Ids of companies whose name contains the (clean, 3+ character) term."""
    if _dialect() == "sqlite":
        return _fts_ids("companies_fts", term)
    return select(Company.id).where(Company.name_key.like(_like(term), escape="\\"))


def search_companies(q: str = "", type_: str | None = None, status: str | None = None):
    stmt = select(Company)
    term = clean_term(q)
    if len(term) >= 3:
        ids = _any_of(_capped(Company, Company.id.in_(company_ids_matching(term))),
                      _capped_prefix_ids(Company, Company.name_key, term))
        stmt = stmt.where(Company.id.in_(ids)).order_by(_relevance(Company.name_key, term))
    elif term:
        stmt = stmt.where(Company.id.in_(_capped_prefix_ids(Company, Company.name_key, term)))
    if type_:
        stmt = stmt.where(Company.type == type_)
    if status:
        stmt = stmt.where(Company.status == status)
    return stmt


def search_contacts(q: str = "", company_id: int | None = None, state: str | None = None):
    stmt = select(Contact).join(Company, Contact.company_id == Company.id)
    term = clean_term(q)
    if len(term) >= 3:
        if _dialect() == "sqlite":
            matching = Contact.id.in_(_fts_ids("contacts_fts", term))
        else:
            like = _like(term)
            matching = or_(contact_full_name().like(like, escape="\\"), func.lower(Contact.email).like(like, escape="\\"))
        ids = _any_of(_capped(Contact, matching), _capped_prefix_ids(Contact, contact_full_name(), term),
                      _capped_prefix_ids(Contact, contact_last_first(), term))
        stmt = stmt.where(Contact.id.in_(ids)).order_by(_relevance(contact_full_name(), term))
    elif term:
        ids = _any_of(_capped_prefix_ids(Contact, contact_full_name(), term),
                      _capped_prefix_ids(Contact, contact_last_first(), term))
        stmt = stmt.where(Contact.id.in_(ids))
    if company_id:
        stmt = stmt.where(Contact.company_id == company_id)
    if state:
        stmt = stmt.where(Contact.state == state)
    return stmt


def search_rooms(q: str = "", company_id: int | None = None, status: str | None = None, product_type: str | None = None):
    stmt = select(Room).join(Company, Room.company_id == Company.id)
    term = clean_term(q)
    if len(term) >= 3:
        if _dialect() == "sqlite":
            direct = Room.id.in_(_fts_ids("rooms_fts", term))
        else:
            like = _like(term)
            direct = or_(Room.name_key.like(like, escape="\\"), Room.slug.like(like, escape="\\"))
        ids = _any_of(_capped(Room, direct), _capped(Room, Room.company_id.in_(company_ids_matching(term))),
                      _capped_prefix_ids(Room, Room.name_key, term))
        stmt = stmt.where(Room.id.in_(ids)).order_by(_relevance(Room.name_key, term))
    elif term:
        stmt = stmt.where(Room.id.in_(_capped_prefix_ids(Room, Room.name_key, term)))
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
