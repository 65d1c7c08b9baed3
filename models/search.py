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
from functools import lru_cache

from sqlalchemy import Integer, String, bindparam, case, column, func, literal_column, or_, select, table, union_all
from sqlalchemy.orm import contains_eager, with_expression
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression

from extensions import db

from . import search_index
from .schema import Company, Contact, Hosting, Room

search_index.register(db.metadata)

TERM_MAX = 100
# A search reads at most this many candidates per way of matching, plus one to tell that there are more
# (the list then says "250+ matches" and asks to refine the search): its cost stays the same at any size.
SEARCH_CAP = 250
SHORT_TERM_CAP = SEARCH_CAP
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def clean_term(q: str | None) -> str:
    """The lower-cased term: no control characters (a NUL would end a C string), single spaces, at most TERM_MAX."""
    q = _CONTROL.sub(" ", q or "")
    return " ".join(q.split())[:TERM_MAX].strip().lower()


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _escape(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _match(term: str) -> str:
    """One FTS5 phrase: NEAR, AND, OR, -, ^, * and quotes inside it are plain text."""
    return '"' + term.replace('"', '""') + '"'


def _next_prefix(term: str) -> str | None:
    """The smallest string above every string that starts with ``term`` (code point order)."""
    code = ord(term[-1]) + 1
    if 0xD800 <= code <= 0xDFFF:
        code = 0xE000
    return term[:-1] + chr(code) if code <= 0x10FFFF else None


# A statement is built once per shape (database, kind of term, which filters) with named parameters, and
# each search fills them in (``Select.params``): building the expression tree cost more than running it.
TERM, STARTS, WORD, LIKE, MATCH, UPPER = (bindparam(n, type_=String) for n in
                                          ("q_term", "q_starts", "q_word", "q_like", "q_match", "q_upper"))


def term_params(term: str) -> dict[str, str]:
    """The values of the shapes' term parameters for a clean term."""
    esc = _escape(term)
    return {"q_term": term, "q_starts": f"{esc}%", "q_word": f"% {esc}%", "q_like": f"%{esc}%",
            "q_match": _match(term), "q_upper": _next_prefix(term) or "\U0010ffff"}


def _fts_ids(name: str):
    """rowids of an FTS5 table whose indexed text contains the term (all of them: for a table of few matches)."""
    fts = table(name, column("rowid"))
    return select(fts.c.rowid).where(literal_column(name).op("MATCH")(MATCH))


def _capped_fts(model, name: str):
    """At most SEARCH_CAP + 1 ids of the tenant's rows whose FTS5 text contains the term: the index's matches
    are read one by one, each kept if its row is the tenant's (the scope applies inside EXISTS), until the cap.
    Not ``id IN (…)``: that first collects every match of every tenant (10,000 for "son" at size L: 0.9 ms
    against 0.1 ms). Not a join either: SQLite may then loop over the tenant's rows and probe the index for each."""
    fts = table(name, column("rowid"))
    owned = select(model.id).where(model.id == fts.c.rowid).exists()
    return (select(fts.c.rowid.label("id")).where(literal_column(name).op("MATCH")(MATCH), owned)
            .limit(SEARCH_CAP + 1))


def _starts_with(dialect: str, key):
    """key starts with the term, as a range an index on key serves (byte/code point order on both databases)."""
    if dialect == "postgresql":  # text_pattern_ops operators: indexable even in a generic plan
        return key.op("~>=~", is_comparison=True)(TERM) & key.op("~<~", is_comparison=True)(UPPER)
    return (key >= TERM) & (key < UPPER)


def _relevance(key):
    """0 exact, 1 starts with, 2 a word starts with, 3 elsewhere in the name, 4 matched another field."""
    return case(
        (key == TERM, 0),
        (key.like(STARTS, escape="\\"), 1),
        (key.like(WORD, escape="\\"), 2),
        (key.like(LIKE, escape="\\"), 3),
        else_=4,
    )


def _capped_prefix_ids(dialect: str, model, key):
    """The first SHORT_TERM_CAP rows whose key starts with the term, in the prefix index's own order: on
    PostgreSQL that is the text_pattern_ops order (``USING ~<~``, code point order, as SQLite's), which the
    index gives without reading and sorting every match (3,600 rows for "li" at size L)."""
    order = UnaryExpression(key, modifier=operators.custom_op("USING ~<~")) if dialect == "postgresql" else key
    return select(model.id).where(_starts_with(dialect, key)).order_by(order).limit(SHORT_TERM_CAP + 1)


def _capped(model, condition):
    """At most SEARCH_CAP + 1 ids of the tenant's rows that meet ``condition`` (an ORM select: the scope applies)."""
    return select(model.id).where(condition).limit(SEARCH_CAP + 1)


def _any_of(*selects):
    """The candidate ids, as a common table expression: the page (and on SQLite its capped count,
    listing.ListArgs.paginate) reads it."""
    matches = union_all(*(s.subquery().select() for s in selects)).cte("matches")
    # Computed once, always: PostgreSQL inlines a CTE named once, and without statistics it then ran the
    # candidates again for every row of the tenant (minutes for 2,000 companies in the tests).
    return select(matches.prefix_with("MATERIALIZED", dialect="postgresql"))


# Expressions the search indexes are built on (search_index): the same text, so the planner matches them.
def contact_full_name():
    return func.lower(Contact.first_name + literal_column("' '") + Contact.last_name)


def contact_last_first():
    return func.lower(Contact.last_name + literal_column("' '") + Contact.first_name)


def _company_ids_matching(dialect: str):
    """Ids of companies whose name contains the (3+ character) term."""
    if dialect == "sqlite":
        return _fts_ids("companies_fts")
    return select(Company.id).where(Company.name_key.like(LIKE, escape="\\"))


def _caps() -> tuple[int, int]:
    """The caps a shape is built with (part of its cache key)."""
    return SEARCH_CAP, SHORT_TERM_CAP


def _kind(term: str) -> str:
    return "long" if len(term) >= 3 else "short" if term else ""


def _planned_each_time(stmt, kind: str):
    """A search is planned with its term every time, never prepared on the server (app.no_generic_plans)."""
    return stmt.execution_options(plan_each_time=True) if kind else stmt


def _filled(shape, term: str, **filters):
    """The shape with this search's values."""
    values = {**(term_params(term) if term else {}), **{k: v for k, v in filters.items() if v}}
    return shape.params(**values) if values else shape


def search_companies(q: str = "", type_: str | None = None, status: str | None = None):
    term = clean_term(q)
    return _filled(_companies_shape(_caps(), _dialect(), _kind(term), bool(type_), bool(status)), term,
                   f_type=type_, f_status=status)


@lru_cache(maxsize=64)
def _companies_shape(_caps: tuple, dialect: str, kind: str, type_: bool, status: bool):
    stmt = select(Company)
    if kind == "long":
        matching = (_capped_fts(Company, "companies_fts") if dialect == "sqlite"
                    else _capped(Company, Company.id.in_(_company_ids_matching(dialect))))
        ids = _any_of(matching,
                      _capped_prefix_ids(dialect, Company, Company.name_key))
        stmt = stmt.where(Company.id.in_(ids)).order_by(_relevance(Company.name_key))
    elif kind == "short":
        stmt = stmt.where(Company.id.in_(_capped_prefix_ids(dialect, Company, Company.name_key)))
    if type_:
        stmt = stmt.where(Company.type == bindparam("f_type", type_=String))
    if status:
        stmt = stmt.where(Company.status == bindparam("f_status", type_=String))
    return _planned_each_time(stmt, kind)


def search_contacts(q: str = "", company_id: int | None = None, state: str | None = None, joined: bool = True):
    """``joined``: with the contacts' companies joined (to sort by or read their names). Without, the list's
    page joins them itself (listing.ListArgs.paginate ``load``: on PostgreSQL after picking the page's rows)."""
    term = clean_term(q)
    return _filled(_contacts_shape(_caps(), _dialect(), _kind(term), bool(company_id), bool(state), joined), term,
                   f_company=company_id, f_state=state)


def join_company(stmt, model):
    """``stmt`` with the rows' companies joined."""
    return stmt.join(Company, model.company_id == Company.id)


def with_companies(stmt, model, *options):
    """A list page's rows with their companies, joined and loaded in the same statement (and ``options``):
    the ``load`` of listing.ListArgs.paginate."""
    return join_company(stmt, model).options(contains_eager(model.company), *options)


@lru_cache(maxsize=64)
def _contacts_shape(_caps: tuple, dialect: str, kind: str, company: bool, state: bool, joined: bool):
    # (a contact without a company, an administrator, is in no list: the join left them out, so does the filter)
    stmt = join_company(select(Contact), Contact) if joined else select(Contact).where(Contact.company_id.is_not(None))
    if kind == "long":
        if dialect == "sqlite":
            matching = _capped_fts(Contact, "contacts_fts")
        else:
            matching = _capped(Contact, or_(contact_full_name().like(LIKE, escape="\\"),
                                            func.lower(Contact.email).like(LIKE, escape="\\")))
        ids = _any_of(matching, _capped_prefix_ids(dialect, Contact, contact_full_name()),
                      _capped_prefix_ids(dialect, Contact, contact_last_first()))
        stmt = stmt.where(Contact.id.in_(ids)).order_by(_relevance(contact_full_name()))
    elif kind == "short":
        ids = _any_of(_capped_prefix_ids(dialect, Contact, contact_full_name()),
                      _capped_prefix_ids(dialect, Contact, contact_last_first()))
        stmt = stmt.where(Contact.id.in_(ids))
    if company:
        stmt = stmt.where(Contact.company_id == bindparam("f_company", type_=Integer))
    if state:
        stmt = stmt.where(Contact.state == bindparam("f_state", type_=String))
    return _planned_each_time(stmt, kind)


def search_rooms(q: str = "", company_id: int | None = None, status: str | None = None, product_type: str | None = None,
                 joined: bool = True):
    """``joined``: as search_contacts."""
    term = clean_term(q)
    shape = _rooms_shape(_caps(), _dialect(), _kind(term), bool(company_id), bool(status), bool(product_type), joined)
    return _filled(shape, term, f_company=company_id, f_status=status, f_type=product_type)


@lru_cache(maxsize=64)
def _rooms_shape(_caps: tuple, dialect: str, kind: str, company: bool, status: bool, product_type: bool, joined: bool):
    stmt = join_company(select(Room), Room) if joined else select(Room)
    if kind == "long":
        if dialect == "sqlite":
            direct = _capped_fts(Room, "rooms_fts")
        else:
            direct = _capped(Room, or_(Room.name_key.like(LIKE, escape="\\"), Room.slug.like(LIKE, escape="\\")))
        ids = _any_of(direct, _capped(Room, Room.company_id.in_(_company_ids_matching(dialect))),
                      _capped_prefix_ids(dialect, Room, Room.name_key))
        stmt = stmt.where(Room.id.in_(ids)).order_by(_relevance(Room.name_key))
    elif kind == "short":
        stmt = stmt.where(Room.id.in_(_capped_prefix_ids(dialect, Room, Room.name_key)))
    if company:
        stmt = stmt.where(Room.company_id == bindparam("f_company", type_=Integer))
    if status:
        stmt = stmt.where(Room.status == bindparam("f_status", type_=String))
    if product_type:
        stmt = stmt.where(Room.product_type == bindparam("f_type", type_=String))
    return _planned_each_time(stmt, kind)


@lru_cache(maxsize=1)
def with_host_count():
    """The loader option that fills ``Room.host_count`` in the rooms' own statement (a correlated count),
    built once."""
    count = select(func.count()).where(Hosting.room_id == Room.id).correlate(Room).scalar_subquery()
    return with_expression(Room.host_count, count)
