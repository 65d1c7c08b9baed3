"""Roles: the role x screen matrix, owners kept in their company, raising a Host to Owner, capabilities, view as."""
import re

import pytest

import models
from extensions import db
from models import AuditEvent, Company, Contact, Room

from . import factories
from .conftest import AuthActions, page_text


@pytest.fixture
def people(world):
    """One person per role, all in reseller A (the administrator belongs to no reseller)."""
    return {
        "administrator": factories.admin(),
        "reseller": world.a.staff,
        "owner": factories.owner(world.a.company),
        "host": world.a.contacts[0],  # the owner of the team room "A Team"
    }


def client_for(app, person):
    c = app.test_client()
    AuthActions(c).login(person.email)
    return c


ROLES = ("administrator", "reseller", "owner", "host")

# path template -> expected status for administrator, reseller, owner, host
MATRIX = [
    ("/companies", (200, 200, 200, 404)),
    ("/companies/new", (404, 200, 404, 404)),
    ("/companies/{a_company}/edit", (200, 200, 200, 404)),
    ("/companies/{a_own}/edit", (200, 200, 404, 404)),
    ("/companies/{b_company}/edit", (200, 404, 404, 404)),
    ("/companies/{a_company}/delete", (200, 200, 404, 404)),
    ("/contacts", (200, 200, 200, 404)),
    ("/contacts/{a_contact1}/edit", (200, 200, 200, 404)),
    ("/contacts/{b_contact}/edit", (200, 404, 404, 404)),
    ("/rooms", (200, 200, 200, 404)),
    ("/rooms/{a_team}/edit", (200, 200, 200, 404)),
    ("/rooms/{b_team}/edit", (200, 404, 404, 404)),
    ("/my-rooms", (200, 200, 200, 200)),
    ("/my-rooms/{a_team}/edit", (200, 200, 200, 200)),
    ("/my-rooms/{a_personal}/edit", (200, 200, 200, 403)),
    ("/my-rooms/{b_team}/edit", (200, 404, 404, 404)),
    ("/contacts/{a_contact1}/roles", (200, 200, 200, 404)),
    ("/admin", (200, 404, 404, 404)),
    ("/admin/resellers/new", (200, 404, 404, 404)),
    ("/admin/resellers/{a_reseller}", (200, 404, 404, 404)),
    ("/settings", (404, 200, 404, 404)),
]


def ids(world):
    return {
        "a_company": world.a.company.id,
        "a_own": world.a.reseller.own_company.id,
        "b_company": world.b.company.id,
        "a_contact1": world.a.contacts[1].id,
        "b_contact": world.b.contacts[0].id,
        "a_team": world.a.team.id,
        "a_personal": world.a.personal.id,
        "b_team": world.b.team.id,
        "a_reseller": world.a.reseller.id,
    }


@pytest.mark.parametrize("role", ROLES)
def test_screens_role_matrix(app, world, people, role):
    c = client_for(app, people[role])
    col = ROLES.index(role)
    got = {}
    for path, expected in MATRIX:
        url = path.format(**ids(world))
        got[url] = (c.get(url).status_code, expected[col])
    wrong = {url: pair for url, pair in got.items() if pair[0] != pair[1]}
    assert not wrong, f"{role}: (got, expected) {wrong}"


# POST actions: path, form, expected status per role (plain form posts: 303 on success)
WRITES = [
    ("/companies", {"name": "Matrix Co", "type": "Business", "status": "customer"}, (404, 303, 404, 404)),
    ("/companies/{a_company}/delete", {}, (303, 303, 404, 404)),
    ("/contacts/{a_contact1}/roles", {"owner": "1"}, (303, 303, 403, 403)),
    ("/view-as/{a_contact1}", {}, (303, 303, 403, 403)),
    ("/settings", {"trial_days": "20", "demo_days": "5", "brand_color": "#123456"}, (404, 303, 404, 404)),
    ("/admin/resellers", {"name": "Matrix Reseller", "first_name": "Mo", "last_name": "Trix",
                          "email": "mo@matrix.example"}, (303, 404, 404, 404)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("path, data, expected", WRITES, ids=[w[0] for w in WRITES])
def test_writes_role_matrix(app, world, people, role, path, data, expected):
    c = client_for(app, people[role])
    resp = c.post(path.format(**ids(world)), data=data)
    assert resp.status_code == expected[ROLES.index(role)], resp.text[:300]


# ---------------------------------------------------------------- owners stay in their company


def test_owner_sees_only_their_company(app, world, people):
    factories.company(world.a.reseller, "Sister Co")
    c = client_for(app, people["owner"])
    text = c.get("/companies").text
    assert "A Corp" in text
    for other in ("Sister Co", "B Corp", world.a.reseller.own_company.name):
        assert f">{other}<" not in text
    assert "Add company" not in text and ">Delete<" not in text


def test_owner_opening_another_companys_url_is_404(app, world, people):
    sister = factories.company(world.a.reseller, "Sister Co")
    person = factories.contact(sister, first="Sis")
    room = factories.room(sister, "Sister Room")
    c = client_for(app, people["owner"])
    for url in (
        f"/companies/{sister.id}/edit",
        f"/companies/{sister.id}/delete",
        f"/contacts/{person.id}/edit",
        f"/contacts/{person.id}/roles",
        f"/contacts?company={sister.id}",
        f"/rooms/{room.id}/edit",
        f"/rooms?company={sister.id}",
        f"/my-rooms/{room.id}/edit",
        f"/companies/{world.a.reseller.own_company.id}/edit",
        f"/contacts/{world.a.staff.id}/edit",
    ):
        resp = c.get(url)
        assert resp.status_code == 404, url
        assert "Sister" not in resp.text and world.a.staff.email not in resp.text
    resp = c.post(f"/companies/{sister.id}", data={"name": "Hijacked", "type": "Business", "status": "customer"})
    assert resp.status_code == 404
    db.session.refresh(sister)
    assert sister.name == "Sister Co"


def test_owner_cannot_create_or_delete_companies(app, world, people):
    c = client_for(app, people["owner"])
    before = db.session.query(Company).count()
    assert c.post("/companies", data={"name": "Owner Co", "type": "Business", "status": "customer"}).status_code == 404
    assert c.post(f"/companies/{world.a.company.id}/delete").status_code == 404
    assert db.session.query(Company).count() == before


def test_owner_edits_their_company(app, world, people):
    c = client_for(app, people["owner"])
    co = world.a.company
    resp = c.post(f"/companies/{co.id}", data={"name": "A Corp Owned", "type": "Business", "status": "customer",
                                             "version": co.version}, htmx=True)
    assert resp.status_code == 200
    db.session.refresh(co)
    assert co.name == "A Corp Owned"


def test_owner_contacts_list_is_their_company_only(app, world, people):
    factories.contact(factories.company(world.a.reseller, "Sister Co"), first="Sisterly")
    text = client_for(app, people["owner"]).get("/contacts").text
    assert world.a.contacts[1].email in text
    assert "Sisterly" not in text and world.a.staff.email not in text and world.b.contacts[0].email not in text


# ---------------------------------------------------------------- raise a Host to Owner and lower them again


def test_update_roles_raise_and_lower(reseller_client, world):
    person = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "1"}, htmx=True)
    assert resp.status_code == 200 and "<html" not in resp.text and 'id="contact-roles"' in resp.text
    assert "Lower to Host" in resp.text and "Owner" in resp.headers["HX-Trigger"]
    db.session.refresh(person)
    assert person.has_role("owner")
    resp = reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "0"}, htmx=True)
    assert resp.status_code == 200 and "Raise to Owner" in resp.text
    db.session.refresh(person)
    assert not person.has_role("owner")
    rows = db.session.query(AuditEvent).filter_by(action="roles", object_id=person.id).all()
    assert len(rows) == 2 and all(r.actor_id == world.a.staff.id for r in rows)


def test_update_roles_owner_gets_the_screens(reseller_client, app, world):
    person = world.a.contacts[1]
    c = client_for(app, person)
    assert c.get("/companies").status_code == 404
    reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "1"})
    assert c.get("/companies").status_code == 200
    reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "0"})
    assert c.get("/companies").status_code == 404


def test_update_roles_other_resellers_contact_is_404(reseller_client, world):
    person = world.b.contacts[1]
    resp = reseller_client.post(f"/contacts/{person.id}/roles", data={"owner": "1"})
    assert resp.status_code == 404
    db.session.refresh(person)
    assert not person.has_role("owner")
    assert reseller_client.get(f"/contacts/{person.id}/roles").status_code == 404


def test_update_roles_reseller_staff_cannot_be_owner(reseller_client, world):
    other = factories.staff(world.a.reseller)
    resp = reseller_client.post(f"/contacts/{other.id}/roles", data={"owner": "1"})
    assert resp.status_code == 403
    db.session.refresh(other)
    assert not other.has_role("owner")
    with pytest.raises(models.RuleError, match="customer company"):
        models.set_roles(other, {"reseller", "owner"})


def test_update_roles_bad_value_is_422(reseller_client, world):
    resp = reseller_client.post(f"/contacts/{world.a.contacts[1].id}/roles", data={"owner": "maybe"}, htmx=True)
    assert resp.status_code == 422 and "Owner" in resp.text


def test_roles_full_page_and_fragment(reseller_client, world):
    url = f"/contacts/{world.a.contacts[0].id}/roles"
    full = reseller_client.get(url)
    assert full.status_code == 200 and "<html" in full.text and 'id="contact-roles"' in full.text
    frag = reseller_client.get(url, htmx=True)
    assert "<html" not in frag.text and 'id="contact-roles"' in frag.text


def test_set_roles_keeps_last_reseller_user():
    r = factories.reseller("Lonely")
    s = factories.staff(r)
    with pytest.raises(models.RuleError, match="last reseller user"):
        models.set_roles(s, set())


# ---------------------------------------------------------------- who can do what, explained


def test_capabilities_on_contact_screen(reseller_client, world):
    host = world.a.contacts[0]
    factories.link(world.a.personal, host)
    other = world.a.contacts[1]
    factories.link(world.a.team, other)
    text = page_text(reseller_client.get(f"/contacts/{host.id}/roles"))
    assert "Edit room A Team (room owner)" in text
    assert "Edit room A Personal (Host of a personal room)" in text
    text = page_text(reseller_client.get(f"/contacts/{other.id}/roles"))
    assert "Use room A Team (Host; the room owner edits it)" in text
    text = page_text(reseller_client.get(f"/contacts/{world.a.staff.id}/roles"))
    assert "Manage all companies of Reseller A" in text and "Create more reseller users" in text


def test_capabilities_owner_and_admin(world):
    owner = factories.owner(world.a.company)
    from permissions import capabilities

    assert ("Manage A Corp: its details, contacts and rooms (customer status, room status and end dates stay with "
            "Reseller A)") in capabilities(owner)
    assert "Create resellers and their first reseller user" in capabilities(factories.admin())
    lonely = world.a.contacts[1]
    assert capabilities(lonely) == ["See My rooms (no rooms are linked yet)"]


# ---------------------------------------------------------------- view as


def start_view_as(client, contact):
    resp = client.post(f"/view-as/{contact.id}")
    assert resp.status_code == 303, resp.text[:300]
    return resp


def test_view_as_shows_portal_as_the_host_with_banner(reseller_client, world):
    host = world.a.contacts[0]
    start_view_as(reseller_client, host)
    resp = reseller_client.get("/", follow_redirects=True)
    assert resp.request.path == "/my-rooms"
    text = page_text(resp)
    assert f"Viewing as {host.name}" in text and "Stop viewing as" in text
    assert "A Team" in text
    # the host's scope and permissions, not the reseller's
    assert reseller_client.get("/companies").status_code == 404
    assert reseller_client.get("/settings").status_code == 404


def test_view_as_owner_scope_switches(reseller_client, world):
    owner = factories.owner(world.a.company)
    factories.company(world.a.reseller, "Sister Co")
    start_view_as(reseller_client, owner)
    text = reseller_client.get("/companies").text
    assert "A Corp" in text and "Sister Co" not in text


def test_view_as_is_read_only(reseller_client, world):
    host = world.a.contacts[0]
    start_view_as(reseller_client, host)
    slug = world.a.team.slug
    resp = reseller_client.post(f"/my-rooms/{world.a.team.id}", data={"slug": "hijacked", "max_participants": "5"})
    assert resp.status_code == 403 and "read-only" in resp.text and "Stop viewing as" in resp.text
    resp = reseller_client.post(f"/my-rooms/{world.a.team.id}", data={"slug": "hijacked"}, htmx=True)
    assert resp.status_code == 403 and "read-only" in resp.text
    assert reseller_client.post("/companies", data={"name": "X", "type": "Business", "status": "customer"}).status_code == 403
    db.session.refresh(world.a.team)
    assert world.a.team.slug == slug
    assert db.session.query(Company).filter_by(name="X").count() == 0


def test_view_as_stop_returns_and_is_audited(reseller_client, world):
    host = world.a.contacts[0]
    start_view_as(reseller_client, host)
    resp = reseller_client.post("/view-as/stop")
    assert resp.status_code == 303
    text = reseller_client.get("/companies").text
    assert "Viewing as" not in text and "B Corp" not in text and "A Corp" in text
    rows = db.session.query(AuditEvent).filter(AuditEvent.action.like("view_as%")).order_by(AuditEvent.id).all()
    assert [(r.action, r.actor_id, r.object_id) for r in rows] == [
        ("view_as_start", world.a.staff.id, host.id),
        ("view_as_stop", world.a.staff.id, host.id),
    ]
    assert rows[0].reseller_id == world.a.reseller.id


def test_view_as_htmx_redirects(reseller_client, world):
    resp = reseller_client.post(f"/view-as/{world.a.contacts[0].id}", htmx=True)
    assert resp.status_code == 204 and resp.headers["HX-Redirect"] == "/"
    resp = reseller_client.post("/view-as/stop", htmx=True)
    assert resp.status_code == 204 and "HX-Redirect" in resp.headers


def test_view_as_admin_any_reseller(app, world):
    admin = client_for(app, factories.admin())
    start_view_as(admin, world.b.contacts[0])
    text = admin.get("/my-rooms").text
    assert "B Team" in text and f"Viewing as {world.b.contacts[0].name}" in text


def test_view_as_refused(app, reseller_client, world):
    assert reseller_client.post(f"/view-as/{world.b.contacts[0].id}").status_code == 404
    assert reseller_client.post(f"/view-as/{world.a.staff.id}").status_code == 403  # not yourself
    assert reseller_client.post(f"/view-as/{factories.admin().id}").status_code == 404  # out of scope
    assert reseller_client.post("/view-as/999999").status_code == 404
    host = client_for(app, world.a.contacts[0])
    assert host.post(f"/view-as/{world.a.contacts[1].id}").status_code == 403
    assert db.session.query(AuditEvent).filter(AuditEvent.action.like("view_as%")).count() == 0


def test_view_as_ends_when_target_is_gone(reseller_client, world):
    person = world.a.contacts[1]
    start_view_as(reseller_client, person)
    models.delete_contact(person)
    db.session.commit()
    text = reseller_client.get("/companies").text
    assert "Viewing as" not in text and "A Corp" in text


def test_view_as_button_on_roles_panel(reseller_client, world):
    text = reseller_client.get(f"/contacts/{world.a.contacts[0].id}/roles").text
    assert "View as" in text and "Raise to Owner" in text
    text = reseller_client.get(f"/contacts/{world.a.staff.id}/roles").text
    assert "View as" not in text and "Raise to Owner" not in text


def test_view_as_room_counts_unaffected(reseller_client, world):
    """Viewing as someone changes nothing: no rooms, hostings or contacts are written."""
    before = (db.session.query(Room).count(), db.session.query(Contact).count())
    start_view_as(reseller_client, world.a.contacts[0])
    reseller_client.get("/my-rooms")
    reseller_client.post("/view-as/stop")
    assert (db.session.query(Room).count(), db.session.query(Contact).count()) == before


def test_contact_screen_shows_roles_panel(reseller_client, world):
    text = page_text(reseller_client.get(f"/contacts/{world.a.contacts[0].id}/edit"))
    assert 'id="contact-roles"' in text and "Edit room A Team (room owner)" in text
    assert "Raise to Owner" in text and "View as" in text
    frag = reseller_client.get(f"/contacts/{world.a.contacts[0].id}/edit", htmx=True).text
    assert 'id="contact-roles"' in frag


# ---------------------------------------------------------------- the explained list matches what the portal allows


def test_capabilities_owner_hosting_a_team_room_may_edit_it(reseller_client, world):
    owner = factories.owner(world.a.company)
    factories.link(world.a.team, owner)  # a second Host, not the room owner; as Owner of A Corp they edit it
    text = page_text(reseller_client.get(f"/contacts/{owner.id}/roles"))
    assert "Edit room A Team (Owner of A Corp)" in text and "Use room A Team" not in text
    assert "See 1 linked room on My rooms, each with its meeting link" in text


def test_capabilities_reseller_staff_hosting_a_room(world):
    from permissions import capabilities

    hq = factories.room(world.a.reseller.own_company, "HQ Room")
    other = factories.staff(world.a.reseller)
    factories.link(hq, other)
    factories.link(hq, world.a.staff)  # second Host: not the room owner, but reseller staff edit every room
    assert "Edit room HQ Room (reseller staff)" in capabilities(world.a.staff)
    assert "Edit room HQ Room (room owner)" in capabilities(other)


def test_capabilities_edit_lines_match_my_rooms(app, world):
    """For each role combination, "Edit room X" is listed exactly for the rooms My rooms offers Edit on."""
    from permissions import capabilities

    owner = factories.owner(world.a.company)
    factories.link(world.a.team, owner)
    second = world.a.contacts[1]
    factories.link(world.a.team, second)  # a plain second Host of the team room
    factories.link(world.a.personal, second)  # and the Host of the personal room
    names = {world.a.team.id: "A Team", world.a.personal.id: "A Personal"}
    for person in (owner, world.a.contacts[0], second):
        said = {line[len("Edit room "):].split(" (")[0] for line in capabilities(person) if line.startswith("Edit room ")}
        text = client_for(app, person).get("/my-rooms").text
        shown = {names[int(n)] for n in re.findall(r'href="/my-rooms/(\d+)/edit"', text)}
        assert said == shown, person.name
        listed = {names[int(n)] for n in re.findall(r'id="my-room-(\d+)"', text)}
        used = {line[len("Use room "):].split(" (")[0] for line in capabilities(person) if line.startswith("Use room ")}
        assert said | used == listed, person.name


# ---------------------------------------------------------------- view as never writes


def test_view_as_refuses_every_write_route(app, reseller_client, world):
    """Every POST route answers 403 while viewing as someone, except stopping it and logging out."""
    owner = factories.owner(world.a.company)
    start_view_as(reseller_client, owner)
    values = {"contact_id": world.a.contacts[1].id, "room_id": world.a.team.id,
              "company_id": world.a.company.id, "reseller_id": world.a.reseller.id, "token": "x" * 20, "item_id": 1}
    allowed = {"people.stop_view_as", "auth.logout"}
    audits = db.session.query(AuditEvent).count()
    tried = 0
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods or rule.endpoint in allowed:
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)
        resp = reseller_client.post(url, data={"owner": "1", "name": "Written", "email": "w@written.example"})
        assert resp.status_code == 403 and "read-only" in resp.text, (rule.endpoint, resp.status_code)
        tried += 1
    assert tried > 20
    assert db.session.query(AuditEvent).count() == audits
    assert f"Viewing as {owner.name}" in reseller_client.get("/my-rooms").text  # still viewing, nothing changed


# ---------------------------------------------------------------- commercial terms stay with the reseller


def test_update_owner_cannot_change_room_terms(client, auth, world):
    from datetime import timedelta

    from extensions import db as _db

    from . import factories as f

    me = f.owner(world.a.company)
    room = world.a.team  # a trial room of the owner's company
    end, status = room.end_date, room.status
    auth.login(me.email)
    page = client.get(f"/rooms/{room.id}/edit").text
    assert 'id="room-status"' not in page and "Your reseller sets the status and end date" in page
    resp = client.post(f"/rooms/{room.id}", htmx=True, data={
        "name": "Renamed by owner", "product_type": "team room", "status": "paid subscriber",
        "end_date": (end + timedelta(days=300)).isoformat(), "suspended": "1", "version": room.version})
    assert resp.status_code == 200
    _db.session.refresh(room)
    assert (room.name, room.status, room.end_date, room.suspended) == ("Renamed by owner", status, end, False)


def test_create_owner_room_starts_as_trial(client, auth, world):
    from sqlalchemy import select

    from extensions import db as _db
    from models import Room

    from . import factories as f

    me = f.owner(world.a.company)
    auth.login(me.email)
    resp = client.post("/rooms", htmx=True, data={"company_id": world.a.company.id, "name": "Owner room",
                                                  "product_type": "team room", "status": "paid subscriber"})
    assert resp.status_code == 200
    room = _db.session.execute(select(Room).where(Room.name == "Owner room")).scalar_one()
    assert room.status == "trial" and room.end_date is not None


def test_update_owner_cannot_change_company_terms(client, auth, world):
    from extensions import db as _db

    from . import factories as f

    me = f.owner(world.a.company)
    company = world.a.company
    status, branded = company.status, company.branded
    auth.login(me.email)
    page = client.get(f"/companies/{company.id}/edit").text
    assert 'id="company-status"' not in page and "Your reseller sets these" in page
    resp = client.post(f"/companies/{company.id}", htmx=True, data={
        "name": "A Corp by owner", "type": "Business", "status": "prospect" if status == "customer" else "customer",
        "branded": "" if branded else "1", "version": company.version})
    assert resp.status_code == 200
    _db.session.refresh(company)
    assert (company.name, company.status, company.branded) == ("A Corp by owner", status, branded)


def test_update_reseller_sets_room_terms(reseller_client, world):
    from extensions import db as _db

    room = world.a.team
    resp = reseller_client.post(f"/rooms/{room.id}", htmx=True, data={
        "name": room.name, "product_type": "team room", "status": "paid subscriber", "version": room.version})
    assert resp.status_code == 200
    _db.session.refresh(room)
    assert room.status == "paid subscriber" and room.end_date is None
