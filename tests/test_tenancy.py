"""Tenant scoping, route by route: every URL that takes an id, tried from another reseller.

The list of routes comes from the app's own URL map, so a route added later
is tried too without anyone remembering to add it here.
"""
import pytest
from sqlalchemy import select

from extensions import db
from models import Company, Contact, Hosting, Room

ID_ARGS = {"company_id", "contact_id", "room_id", "reseller_id"}
# Pages with an id in the URL that show no tenant data by design.
NO_DATA = {"embed.reopen"}


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
           "reseller_id": a.reseller.id}
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
                     "people.update_roles", "dashboard.edit", "resellers.edit"):
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
    ids = {"company_id": other.id, "contact_id": neighbour.id, "room_id": room.id, "reseller_id": world.a.reseller.id}
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
