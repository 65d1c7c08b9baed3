"""Search: substring matches answered by the search indexes, relevance order, tenant scope, hostile input."""
import re

import pytest
from flask import g
from sqlalchemy import text

import models
from extensions import db
from models import Scope
from models.search import clean_term

from . import factories
from .conftest import page_text

ROUTES = ["/companies", "/contacts", "/rooms"]
HOSTILE = ["%", "_", "%%%", "__", "'", "''", "\"", "\"\"\"", "*", "a*", "NEAR", "NEAR(a b)", "AND", "OR", "NOT",
           "a OR b", "-", "-abc", "^", "^abc", "abc:def", "{name}: x", "(", ")", "\\", "a\\%", "x' OR '1'='1",
           "a", "ab", "z" * 10_000, "🦄", "🦄🦄🦄", "ab🦄", "\x00", "ab\x00cd", "\x00\x00\x00", " ", "\t\n"]


@pytest.fixture
def data(world):
    a = world.a
    lisbon = factories.company(a.reseller, "Lisbon Harbour Dental")
    other = factories.company(a.reseller, "Porto Labs")
    deals = factories.company(a.reseller, '50% Off "Deals"_Co')
    people = {
        "ann": factories.contact(other, first="Ann", last="Lisbeth", email="ann.l@porto.example"),
        "zoe": factories.contact(other, first="Zoë", last="Müller", email="zoe@porto.example"),
        "bob": factories.contact(lisbon, first="Bob", last="Stone", email="bob@lisbon-harbour.example"),
    }
    rooms = {
        "lisbon": factories.room(other, "Lisbon"),
        "starts": factories.room(other, "Lisbon Boardroom"),
        "word": factories.room(other, "Old Lisbon Office"),
        "inside": factories.room(other, "Prelisbonia"),
        "company": factories.room(lisbon, "Reception"),  # found by its company's name
        "odd": factories.room(other, "R&D_lab 100%"),
    }
    # the other reseller has a Lisbon too, never shown to reseller A
    foreign = factories.company(world.b.reseller, "Lisbon Foreign Corp")
    factories.room(foreign, "Lisbon Foreign Room")
    factories.contact(foreign, first="Lisbon", last="Foreigner")
    return world, lisbon, deals, people, rooms


def names(rows):
    return [str(r) for r in rows]


def run(stmt):
    return db.session.execute(stmt).scalars().all()


def test_clean_term():
    assert clean_term("  Ann \t LEE ") == "ann lee"
    assert clean_term("a\x00b") == "a b"
    assert clean_term("x" * 10_000) == "x" * 100
    assert clean_term(None) == ""


def test_search_rooms_by_relevance_then_name(app, data):
    world = data[0]
    found = run(models.search_rooms("lisbon").order_by(models.Room.name_key))
    assert "Lisbon Foreign Room" in names(found)  # outside a request nothing is scoped (the CLI's view)
    with app.test_request_context():
        g.scope = Scope(reseller_id=world.a.reseller.id)
        found = run(models.search_rooms("lisbon").order_by(models.Room.name_key))
    # exact, starts with, a word starts with, inside a word, then the company name match
    assert names(found) == ["Lisbon", "Lisbon Boardroom", "Old Lisbon Office", "Prelisbonia", "Reception"]


def test_search_rooms_by_slug_and_company(app, data):
    _, _, _, _, rooms = data
    assert names(run(models.search_rooms("old-lisbon"))) == ["Old Lisbon Office"]  # meeting link
    assert names(run(models.search_rooms("harbour dental"))) == ["Reception"]


def test_search_contacts_name_email_case_and_accents(app, data):
    assert names(run(models.search_contacts("ANN LIS"))) == ["Ann Lisbeth"]  # full name, any case
    assert names(run(models.search_contacts("lisbeth"))) == ["Ann Lisbeth"]
    assert names(run(models.search_contacts("porto.exa"))) == ["Ann Lisbeth", "Zoë Müller"] or \
        sorted(names(run(models.search_contacts("porto.exa")))) == ["Ann Lisbeth", "Zoë Müller"]
    assert names(run(models.search_contacts("MÜLL"))) == ["Zoë Müller"]
    assert names(run(models.search_contacts("zoë"))) == ["Zoë Müller"]


def test_short_terms_match_the_start_of_a_name(app, data):
    assert names(run(models.search_rooms("LI").order_by(models.Room.name_key))) == [
        "Lisbon", "Lisbon Boardroom", "Lisbon Foreign Room"]
    assert names(run(models.search_companies("po"))) == ["Porto Labs"]
    # a first or a last name starts with it
    assert sorted(names(run(models.search_contacts("MÜ")))) == ["Zoë Müller"]  # last name
    assert sorted(names(run(models.search_contacts("zo")))) == ["Zoë Müller"]


def test_wildcards_and_quotes_are_plain_text(app, data):
    _, _, deals, _, _ = data
    assert names(run(models.search_companies("50%"))) == [deals.name]
    assert names(run(models.search_companies('"deals"_'))) == [deals.name]
    assert names(run(models.search_rooms("d_l"))) == ["R&D_lab 100%"]
    assert run(models.search_rooms("dxl")) == []
    assert names(run(models.search_rooms("100%"))) == ["R&D_lab 100%"]
    assert run(models.search_companies("%")) == [] and run(models.search_companies("_")) == []


@pytest.mark.parametrize("q", HOSTILE, ids=lambda q: repr(q[:12]))
def test_hostile_terms_in_the_functions(app, data, q):
    for fn in (models.search_companies, models.search_contacts, models.search_rooms):
        rows = run(fn(q))
        assert len(rows) <= 20  # never "everything" for a wildcard


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("q", HOSTILE, ids=lambda q: repr(q[:12]))
def test_hostile_terms_through_the_list_routes(reseller_client, data, route, q):
    resp = reseller_client.get(route, query_string={"q": q}, htmx=True)
    assert resp.status_code == 200
    assert "Foreign" not in resp.text


@pytest.mark.parametrize("route, q, shown", [
    ("/rooms", "lisb", ["Lisbon Boardroom", "Old Lisbon Office", "Prelisbonia", "Reception"]),
    ("/rooms", "li", ["Lisbon Boardroom"]),
    ("/contacts", "lisb", ["Lisbeth, Ann"]),  # shown as sorted: last name first
    ("/contacts", "harbour", ["Stone, Bob"]),  # email
    ("/companies", "harbour", ["Lisbon Harbour Dental"]),
    ("/companies", "li", ["Lisbon Harbour Dental"]),
])
def test_list_routes_search_within_the_tenant(reseller_client, data, route, q, shown):
    text = page_text(reseller_client.get(route, query_string={"q": q}, htmx=True))
    for name in shown:
        assert name in text
    assert "Foreign" not in text
    assert "<html" not in text
    assert "<html" in reseller_client.get(route, query_string={"q": q}).text


def test_index_follows_renames_and_deletes(app, data):
    world, lisbon, _, people, rooms = data
    models.update_company(lisbon, {"name": "Faro Smiles", "type": "Business", "status": "customer"})
    db.session.commit()
    assert "Reception" not in names(run(models.search_rooms("harbour")))
    assert names(run(models.search_rooms("faro smi"))) == ["Reception"]
    models.update_contact(people["ann"], {"first_name": "Anna", "last_name": "Cork", "email": "anna@cork.example"})
    db.session.commit()
    assert run(models.search_contacts("lisbeth")) == []
    assert names(run(models.search_contacts("anna cork"))) == ["Anna Cork"]
    models.delete_company(lisbon)
    db.session.commit()
    assert run(models.search_contacts("bob st")) == [] and run(models.search_companies("faro")) == []
    # the database's own cascade (a reseller goes) keeps the index in step too
    db.session.execute(models.Reseller.__table__.delete().where(models.Reseller.id == world.b.reseller.id))
    db.session.commit()
    assert run(models.search_rooms("foreign")) == []
    if db.engine.dialect.name == "sqlite":
        for table in ("companies_fts", "contacts_fts", "rooms_fts"):
            db.session.execute(text(f"INSERT INTO {table}({table}) VALUES ('integrity-check')"))


def test_owner_scope_sees_own_company_only(app, data):
    world, lisbon, _, people, _ = data
    with app.test_request_context():
        g.scope = Scope(reseller_id=world.a.reseller.id, company_id=lisbon.id)
        assert names(run(models.search_rooms("rece"))) == ["Reception"]
        assert run(models.search_rooms("lisbon b")) == []
        assert names(run(models.search_contacts("bo"))) == ["Bob Stone"]


@pytest.mark.parametrize("fn, term, index", [
    (models.search_rooms, "lisb", "rooms_fts"),
    (models.search_contacts, "lisb", "contacts_fts"),
    (models.search_companies, "lisb", "companies_fts"),
    (models.search_rooms, "li", "ix_search_rooms_name"),
    (models.search_contacts, "li", "ix_search_contacts_"),
])
def test_sqlite_plan_uses_the_search_index(app, data, fn, term, index):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite query plan")
    with app.test_request_context():
        g.scope = Scope(reseller_id=data[0].a.reseller.id)
        stmt = fn(term)
        captured = []

        from sqlalchemy import event

        def grab(conn, cursor, statement, params, context, executemany):
            captured.append((statement, params))

        event.listen(db.engine, "before_cursor_execute", grab)
        try:
            run(stmt)
        finally:
            event.remove(db.engine, "before_cursor_execute", grab)
        sql, params = captured[-1]
        plan = " | ".join(r[-1] for r in db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params))
    assert index in plan, plan
    if index.endswith("_fts"):
        # the index's matches are read in turn and each row checked (stopping at the cap), not gathered into
        # an IN list first, nor probed once per row of the tenant
        table = index.removesuffix("_fts")
        assert re.search(rf"SCAN {index} VIRTUAL TABLE[^|]*\| CORRELATED SCALAR SUBQUERY \d+ \| "
                         rf"SEARCH {table} USING INTEGER PRIMARY KEY", plan), plan
    for table in ("rooms", "contacts", "companies"):
        assert f"SCAN {table} " not in plan + " " and not plan.endswith(f"SCAN {table}"), plan


def test_common_terms_are_capped_but_keep_the_best_matches(app, world, monkeypatch):
    monkeypatch.setattr(models.search, "SEARCH_CAP", 3)
    company = world.a.company
    for i in range(6):
        factories.room(company, f"Pyramid {i}")
    factories.room(company, "Midway")  # the newest, beyond the cap of substring matches
    found = names(run(models.search_rooms("mid")))
    assert found[0] == "Midway"  # starts with the term: found through the prefix index, first by relevance
    assert len(found) in (4, 5)  # 3 + 1 substring candidates (any: the cap takes the first found; the one more
    #                               tells that there are more) and the prefix match


def test_postgresql_prepares_plain_statements_but_plans_each_search(app, data):
    """psycopg prepares a statement on the server after PG_PREPARE_THRESHOLD runs, so the signed-in user's
    query is parsed and planned once; a search never is prepared: a generic plan would not know how selective
    its term is (app.no_generic_plans)."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL prepared statements")
    staff = data[0].a.staff
    with app.test_request_context():
        g.scope = Scope(reseller_id=staff.reseller_id)
        for _ in range(app.config["PG_PREPARE_THRESHOLD"] + 2):  # one session, so one connection throughout
            assert models.signed_in(staff.id, "no-such-session")[0].id == staff.id
            names(run(models.search_rooms("lisb")))
            names(run(models.search_contacts("li")))
        prepared = [row[0] for row in db.session.execute(text("SELECT statement FROM pg_prepared_statements"))]
        db.session.rollback()
    assert any("ended_sessions" in sql for sql in prepared), prepared  # the user's query
    assert not any("LIKE" in sql or "~>=~" in sql for sql in prepared), prepared  # no search
