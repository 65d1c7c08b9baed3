"""Tenant scoping, route by route: every URL that takes an id, tried from another reseller; and
every route of the URL map tried by every role (``test_every_route_every_role``, the figures in
README.md's Reliability section).

The list of routes comes from the app's own URL map, so a route added later
is tried too without anyone remembering to add it here.
"""
import re

import pytest
from sqlalchemy import select

from extensions import db
from models import Company, Contact, Hosting, Room

ID_ARGS = {"company_id", "contact_id", "room_id", "reseller_id", "item_id"}
# Pages with an id in the URL that show no tenant data by design.
NO_DATA = {"embed.reopen"}


def _trashed(company, name="Trashed Room") -> int:
    """The id of a Trash item of ``company``: a room made and deleted (the Trash's routes take it)."""
    import models

    from . import factories

    item = models.trash_room(factories.room(company, name))
    db.session.commit()
    return item.id


def _snapshot():
    rows = []
    for model in (Company, Contact, Room, Hosting):
        for obj in db.session.execute(select(model).execution_options(populate_existing=True)).scalars():
            rows.append({c.name: getattr(obj, c.key) for c in model.__mapper__.columns})
    return rows


def _id_routes(app):
    for rule in app.url_map.iter_rules():
        in_url = rule.arguments - set(rule.defaults or {})
        if in_url and in_url <= ID_ARGS and rule.endpoint not in NO_DATA:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield rule, method


def test_every_id_route_of_another_reseller_is_404(app, other_client, world):
    """Reseller B, signed in, tries each route with reseller A's ids: 404, and nothing changes."""
    a = world.a
    ids = {"company_id": a.company.id, "contact_id": a.contacts[0].id, "room_id": a.team.id,
           "reseller_id": a.reseller.id, "item_id": _trashed(a.company)}
    form = {"name": "Hijacked", "first_name": "Hi", "last_name": "Jack", "email": "hijack@evil.example",
            "type": "Business", "status": "trial", "product_type": "team room", "roles": "owner",
            "company_id": world.b.company.id, "contact_id": a.contacts[1].id, "room_id": a.personal.id}
    before = _snapshot()
    tried = []
    for rule, method in _id_routes(app):
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", str(ids[arg]))
        for htmx in (False, True):
            resp = other_client.open(url, method=method, data=form if method == "POST" else None, htmx=htmx)
            assert resp.status_code == 404, f"{method} {url} (htmx={htmx}) answered {resp.status_code}"
            body = resp.get_data(as_text=True)
            assert a.company.name not in body and a.contacts[0].email not in body, f"{method} {url} leaked data"
        tried.append(rule.endpoint)
    db.session.expire_all()
    assert _snapshot() == before
    # the map really holds the screens of every resource
    for endpoint in ("companies.edit", "contacts.edit", "rooms.edit", "rooms.link", "account.reset_password",
                     "people.update_roles", "dashboard.edit", "resellers.edit", "trash.restore"):
        assert endpoint in tried


@pytest.mark.parametrize("path, field", [
    ("/contacts", "company_id"),            # add a contact to A's company
    ("/rooms", "company_id"),               # add a room to A's company
])
def test_create_in_another_resellers_company_is_404(other_client, world, path, field):
    data = {"first_name": "Hi", "last_name": "Jack", "email": "hijack@evil.example", "name": "Hijack",
            "product_type": "team room", "status": "trial", field: world.a.company.id}
    before = _snapshot()
    resp = other_client.post(path, data=data, htmx=True)
    assert resp.status_code == 404
    db.session.expire_all()
    assert _snapshot() == before


def test_foreign_ids_in_the_form_of_own_objects_are_404(other_client, world):
    """B's own room, contact and company, with A's ids in the form body."""
    a, b = world.a, world.b
    before = _snapshot()
    cases = [
        (f"/rooms/{b.team.id}/hosts", {"contact_id": a.contacts[1].id}),
        (f"/contacts/{b.contacts[1].id}/rooms", {"room_id": a.team.id}),
        (f"/contacts/{b.contacts[1].id}/change-company", {"company_id": a.company.id}),
        (f"/rooms/{b.team.id}/hosts/{a.contacts[0].id}/delete", {}),
        (f"/rooms/{b.team.id}/hosts/{a.contacts[0].id}/owner", {}),
        (f"/rooms/{b.team.id}/hosts/{a.contacts[0].id}/personal-room", {}),
        (f"/contacts/{b.contacts[0].id}/rooms/{a.team.id}/unlink", {}),
    ]
    for url, data in cases:
        resp = other_client.post(url, data=data, htmx=True)
        assert resp.status_code == 404, f"POST {url} {data} answered {resp.status_code}"
    db.session.expire_all()
    assert _snapshot() == before


def test_every_id_route_of_another_company_is_404_for_an_owner(app, client, auth, world):
    """An Owner of A Corp tries each route with the ids of another company of the same reseller."""
    from . import factories

    me = factories.owner(world.a.company)
    other = factories.company(world.a.reseller, "Neighbour Ltd")
    neighbour = factories.contact(other, first="Nina")
    room = factories.room(other, "Neighbour Room")
    factories.link(room, neighbour)
    auth.login(me.email)
    ids = {"company_id": other.id, "contact_id": neighbour.id, "room_id": room.id, "reseller_id": world.a.reseller.id,
           "item_id": _trashed(other, "Neighbour Gone")}
    form = {"name": "Hijacked", "first_name": "Hi", "last_name": "Jack", "email": "hijack@evil.example",
            "type": "Business", "status": "trial", "product_type": "team room", "company_id": world.a.company.id,
            "contact_id": world.a.contacts[1].id}
    before = _snapshot()
    for rule, method in _id_routes(app):
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", str(ids[arg]))
        resp = client.open(url, method=method, data=form if method == "POST" else None, htmx=True)
        assert resp.status_code in (403, 404), f"{method} {url} answered {resp.status_code}"
        assert "Neighbour" not in resp.get_data(as_text=True), f"{method} {url} leaked data"
    db.session.expire_all()
    assert _snapshot() == before


# ---------------------------------------------------------------- every route x every role
# Every rule of the URL map (not only id routes), every method, tried by each role of reseller A,
# by anonymous, and by reseller B's staff. A new route is tried automatically; a route whose
# arguments the matrix cannot fill, or whose endpoint has no row in ALLOWED, fails the test.

MATRIX_ROLES = ("anonymous", "administrator", "reseller", "owner", "host", "other_reseller")
# Endpoints anyone may use signed out (the log-in and password pages, the embed's signed entry).
PUBLIC = {"auth.login", "auth.login_post", "auth.logout", "account.forgot", "account.set_password",
          "embed.sso", "embed.reopen", "static"}
# Run last, in this order: they end the cell's own state or remove the objects other cells use.
LAST = ("rooms.unlink", "contacts.unlink_room", "contacts.change_company", "contacts.delete", "rooms.delete",
        "companies.delete")
MATRIX_COUNT = {"routes": set(), "cells": 0}


def _table_snapshot():
    """Every row of every table (the tests' world is small): what a refused request must not change."""
    db.session.rollback()
    out = {}
    for table in db.metadata.sorted_tables:
        if table.name == "ended_sessions":  # written by log-out, which is always allowed
            continue
        rows = db.session.execute(table.select()).all()
        out[table.name] = sorted((tuple(map(repr, r)) for r in rows))
    db.session.rollback()
    return out


def _fill(rule, ids):
    """The rule's URL with its arguments filled, or a failure naming what the matrix cannot fill."""
    fillers = {"company_id": ids["company_id"], "contact_id": ids["contact_id"], "room_id": ids["room_id"],
               "reseller_id": ids["reseller_id"], "item_id": ids.get("item_id", 1), "token": "not-a-real-token", "filename": "portal.css"}
    values = {}
    for arg in rule.arguments:
        if arg in (rule.defaults or {}):
            continue
        if arg not in fillers:
            pytest.fail(f"route {rule.rule} ({rule.endpoint}) has an argument {arg!r} the matrix cannot fill: "
                        "add a filler to tests/test_tenancy.py")
        values[arg] = fillers[arg]
    url = rule.rule
    for arg, value in values.items():
        url = re.sub(rf"<(?:[a-z]+:)?{arg}>", str(value), url)
    return url


def _cells(app):
    cells = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            cells.append((rule, method))
    order = {e: i for i, e in enumerate(LAST)}
    return sorted(cells, key=lambda c: (order.get(c[0].endpoint, -1), c[0].rule, c[1]))


def _matrix_people(world):
    from . import factories

    return {
        "anonymous": None,
        "administrator": factories.admin(),
        "reseller": world.a.staff,
        "owner": factories.owner(world.a.company),
        "host": world.a.contacts[0],  # hosts (owns) the team room; no stored role
        "other_reseller": world.b.staff,
    }


def _is_login_redirect(resp) -> bool:
    if resp.status_code in (301, 302, 303):
        return resp.headers["Location"].split("?")[0].endswith("/login")
    return resp.status_code == 401 and resp.headers.get("HX-Redirect", "").split("?")[0].endswith("/login")


def _run_matrix(app, world, role):
    from . import factories
    from .conftest import AuthActions

    people = _matrix_people(world)
    a, b = world.a, world.b
    second = factories.company(a.reseller, "A Two")
    person = people[role]
    ids = {"company_id": a.company.id, "contact_id": a.contacts[1].id, "room_id": a.team.id,
           "reseller_id": a.reseller.id, "item_id": _trashed(a.company)}
    own = b if role == "other_reseller" else a
    form = {"name": "Hijacked", "first_name": "Hi", "last_name": "Jack", "email": "hijack@evil.example",
            "type": "Business", "status": "trial", "product_type": "team room", "roles": "owner",
            "password": "x" * 12, "password_repeat": "x" * 12, "origins": "https://evil.example",
            # a company the role may add to or move a contact into
            "company_id": {"other_reseller": b.company, "owner": a.company, "host": a.company}.get(role, second).id,
            "contact_id": own.contacts[1].id, "room_id": own.personal.id}
    results = []
    for rule, method in _cells(app):
        url = _fill(rule, ids)
        c = app.test_client()
        if person is not None:
            AuthActions(c).login(person.email)
        before = _table_snapshot()
        resp = c.open(url, method=method, data=form if method == "POST" else None)
        after = _table_snapshot()
        results.append((rule, method, url, resp, before == after))
        MATRIX_COUNT["routes"].add((rule.rule, method))
        MATRIX_COUNT["cells"] += 1
    return results


# "METHOD rule" -> the roles of reseller A that may act there (a: administrator, r: reseller staff,
# o: owner, h: host-only contact). Everyone else gets 403 or 404 and nothing is written; anonymous
# gets the log-in redirect (or 401 + HX-Redirect) except on PUBLIC endpoints; reseller B's staff
# gets 404 on every route with an id, and elsewhere the answer reseller A's staff gets.
ALLOWED = {
    "GET /": "aroh", "GET /admin": "a", "POST /admin/resellers": "a", "GET /admin/resellers/new": "a",
    "GET /admin/resellers/<int:reseller_id>": "a", "POST /admin/resellers/<int:reseller_id>": "a",
    "POST /admin/resellers/<int:reseller_id>/users": "a",
    "GET /companies": "aro", "POST /companies": "r", "GET /companies/new": "r",
    "POST /companies/<int:company_id>": "aro", "GET /companies/<int:company_id>/edit": "aro",
    "GET /companies/<int:company_id>/delete": "ar", "POST /companies/<int:company_id>/delete": "ar",
    "GET /contacts": "aro", "POST /contacts": "aro", "GET /contacts/new": "aro",
    "GET /contacts/<int:contact_id>": "aro", "POST /contacts/<int:contact_id>": "aro",
    "GET /contacts/<int:contact_id>/edit": "aro",
    "GET /contacts/<int:contact_id>/change-company": "ar", "POST /contacts/<int:contact_id>/change-company": "ar",
    "GET /contacts/<int:contact_id>/delete": "aro", "POST /contacts/<int:contact_id>/delete": "aro",
    "POST /contacts/<int:contact_id>/end-sessions": "ar", "POST /contacts/<int:contact_id>/reset-password": "aro",
    "GET /contacts/<int:contact_id>/roles": "aro", "POST /contacts/<int:contact_id>/roles": "ar",
    "GET /contacts/<int:contact_id>/rooms": "aro", "POST /contacts/<int:contact_id>/rooms": "aro",
    "POST /contacts/<int:contact_id>/rooms/<int:room_id>/unlink": "aro",
    "GET /my-rooms": "aroh", "GET /my-rooms/<int:room_id>/edit": "aroh", "POST /my-rooms/<int:room_id>": "aroh",
    "GET /rooms": "aro", "POST /rooms": "aro", "GET /rooms/new": "aro",
    "GET /rooms/<int:room_id>/edit": "aro", "POST /rooms/<int:room_id>": "aro",
    "GET /rooms/<int:room_id>/delete": "aro", "POST /rooms/<int:room_id>/delete": "aro",
    "POST /rooms/<int:room_id>/hosts": "aro", "POST /rooms/<int:room_id>/hosts/<int:contact_id>/owner": "aro",
    "POST /rooms/<int:room_id>/hosts/<int:contact_id>/personal-room": "aro",
    "POST /rooms/<int:room_id>/hosts/<int:contact_id>/delete": "aro",
    "GET /settings": "r", "POST /settings": "r", "POST /settings/users": "r", "GET /settings/embed": "r",
    "POST /settings/embed/rotate": "r", "POST /settings/embed/drop-previous": "r",
    "POST /settings/embed/end-sessions": "r",
    "POST /view-as/<int:contact_id>": "ar", "POST /view-as/stop": "aroh",
    "GET /trash": "aro", "POST /trash/<int:item_id>/restore": "aro",
    "GET /activity": "ar", "GET /activity/export.csv": "ar", "GET /companies/<int:company_id>/history": "aro",
    "GET /contacts/<int:contact_id>/history": "aro", "GET /rooms/<int:room_id>/history": "aro",
    # CSV out (the lists' scope) and in (reseller staff only: others get 403), and the free-trial report
    "GET /companies/export.csv": "aro", "GET /contacts/export.csv": "aro", "GET /rooms/export.csv": "aro",
    "GET /import": "r", "GET /import/template.csv": "r", "POST /import/preview": "r", "POST /import": "r",
    "GET /reports/trials": "aro", "GET /reports/trials.csv": "aro",
    # trial lifecycle (blueprints/lifecycle.py, home.py): the commercial terms stay with reseller staff
    "GET /rooms/<int:room_id>/terms": "ar", "POST /rooms/<int:room_id>/extend": "ar", "POST /rooms/<int:room_id>/convert": "ar",
    "POST /rooms/<int:room_id>/demo": "ar", "POST /companies/<int:company_id>/customer": "ar",
    "POST /rooms/bulk": "ar", "POST /notices": "o",
    # inline checks as the user types (nothing saved)
    "GET /contacts/check-email": "aro", "GET /rooms/check-slug": "aro", "GET /companies/check-name": "r",
    # your own account: how dates and numbers read
    "GET /account": "aroh", "POST /account": "aroh",
}
ROLE_LETTER = {"administrator": "a", "reseller": "r", "owner": "o", "host": "h", "other_reseller": "r"}


def _check_cell(role, rule, method, url, resp, same, world):
    cell = f"{role}: {method} {url} ({rule.endpoint}) answered {resp.status_code}"
    assert resp.status_code < 500, cell
    if resp.status_code >= 400 or _is_login_redirect(resp):
        assert same, f"{cell} and wrote to the database"
    if rule.endpoint in PUBLIC:
        return
    if role == "anonymous":
        assert _is_login_redirect(resp), f"{cell}, not the log-in redirect"
        return
    key = f"{method} {rule.rule}"
    assert key in ALLOWED, f"{key} ({rule.endpoint}) is a new route: add who may use it to ALLOWED"
    if role == "other_reseller":
        body = resp.get_data(as_text=True)
        assert world.a.company.name not in body and world.a.contacts[1].email not in body, f"{cell}: leaked A's data"
        if (rule.arguments - set(rule.defaults or {})) & ID_ARGS:
            assert resp.status_code == 404, f"{cell}, not 404 for another reseller's id"
            return
    if ROLE_LETTER[role] in ALLOWED[key]:
        assert resp.status_code not in (401, 403, 404) and not _is_login_redirect(resp), f"{cell}, but may act"
    else:
        assert resp.status_code in (403, 404), f"{cell}, but may not act"
        assert same, f"{cell} and wrote to the database"


@pytest.mark.parametrize("role", MATRIX_ROLES)
def test_every_route_every_role(app, world, role):
    """Each (route, method) of the URL map, signed in afresh as ``role``: the documented answer, never a 500,
    nothing written when refused."""
    results = _run_matrix(app, world, role)
    for rule, method, url, resp, same in results:
        _check_cell(role, rule, method, url, resp, same, world)
    assert {f"{m} {r.rule}" for r, m, *_ in results if r.endpoint not in PUBLIC} == set(ALLOWED), \
        "ALLOWED names a route the app no longer has"
    print(f"route matrix: {len(MATRIX_COUNT['routes'])} routes x methods, {MATRIX_COUNT['cells']} cells tried so far")
