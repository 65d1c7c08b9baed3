"""Administrator screens: every reseller with counts, creating a reseller and its first user, any reseller's settings."""
import pytest

from extensions import db
from models import AuditEvent, Company, Contact, OutboxMessage, Reseller

from . import factories
from .conftest import AuthActions, page_text


@pytest.fixture
def admin_client(app, world):
    c = app.test_client()
    AuthActions(c).login(factories.admin().email)
    return c


def test_index_full_page_and_fragment(admin_client, world):
    full = admin_client.get("/admin")
    assert full.status_code == 200 and "<html" in full.text and 'id="reseller-table"' in full.text
    frag = admin_client.get("/admin", htmx=True)
    assert "<html" not in frag.text and 'id="reseller-table"' in frag.text


def test_index_lists_every_reseller_with_counts(admin_client, world):
    factories.company(world.a.reseller, "Extra Co")
    factories.staff(world.a.reseller)
    text = page_text(admin_client.get("/admin", htmx=True)).replace(" <", "<").replace("> ", ">")
    row = text[text.index(f'id="reseller-{world.a.reseller.id}"'):]
    row = row[:row.index("</tr>")]
    assert "Reseller A" in row
    assert 'data-count="companies">2<' in row  # A Corp and Extra Co; the reseller's own company is not counted
    assert 'data-count="contacts">4<' in row  # 2 staff + 2 contacts
    assert 'data-count="rooms">2 (2)<' in row
    assert 'data-count="users">2<' in row
    assert f'id="reseller-{world.b.reseller.id}"' in text


def test_index_refused_for_everyone_else(app, world):
    for person in (world.a.staff, world.a.contacts[0], factories.owner(world.a.company)):
        c = app.test_client()
        AuthActions(c).login(person.email)
        assert c.get("/admin").status_code == 404
        assert c.get("/admin/resellers/new").status_code == 404
    assert app.test_client().get("/admin").status_code == 302


def test_new_full_page_and_fragment(admin_client):
    assert "<html" in admin_client.get("/admin/resellers/new").text
    frag = admin_client.get("/admin/resellers/new", htmx=True).text
    assert "<html" not in frag and 'id="reseller-new"' in frag
    for label in ("Reseller name", "First name", "Last name", "Email"):
        assert f">{label}</label>" in frag


def test_create_reseller_and_first_user(admin_client, world):
    resp = admin_client.post("/admin/resellers", htmx=True, data={
        "name": "Eastwind", "first_name": "Erin", "last_name": "East", "email": "Erin@Eastwind.example"})
    assert resp.status_code == 200 and "resellers-changed" in resp.headers["HX-Trigger"]
    reseller = db.session.query(Reseller).filter_by(name="Eastwind").one()
    own = reseller.own_company
    assert own.type == "Reseller" and own.name == "Eastwind"
    user = db.session.query(Contact).filter_by(email="erin@eastwind.example").one()
    assert (user.first_name, user.last_name, user.company_id, user.reseller_id) == ("Erin", "East", own.id, reseller.id)
    assert user.roles == {"reseller"} and user.password_hash is None  # set through the welcome link
    welcome = db.session.query(OutboxMessage).filter(OutboxMessage.recipients.contains("erin@eastwind.example")).all()
    assert len(welcome) == 1 and "password" in welcome[0].body_text.lower()
    assert db.session.query(AuditEvent).filter_by(action="create", object_type="Reseller", object_id=reseller.id).count() == 1
    # the list shows it
    assert "Eastwind" in admin_client.get("/admin").text


def test_create_plain_form_redirects(admin_client):
    resp = admin_client.post("/admin/resellers", data={
        "name": "Plainwind", "first_name": "Pia", "last_name": "Plain", "email": "pia@plain.example"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/admin")


@pytest.mark.parametrize("data, field, message", [
    ({"name": "", "first_name": "A", "last_name": "B", "email": "a@b.example"}, "name", "Name is required"),
    ({"name": "Reseller A", "first_name": "A", "last_name": "B", "email": "a@b.example"}, "name", "already exists"),
    ({"name": "New R", "first_name": "", "last_name": "B", "email": "a@b.example"}, "first_name", "First name is required"),
    ({"name": "New R", "first_name": "A", "last_name": "", "email": "a@b.example"}, "last_name", "Last name is required"),
    ({"name": "New R", "first_name": "A", "last_name": "B", "email": "nope"}, "email", "This email cannot be used"),
    ({"name": "New R", "first_name": "A", "last_name": "B", "email": "staff@a.example"}, "email", "already in use"),
])
def test_create_bad_input_is_422_and_creates_nothing(admin_client, world, data, field, message):
    before = (db.session.query(Reseller).count(), db.session.query(Company).count(), db.session.query(Contact).count())
    resp = admin_client.post("/admin/resellers", data=data, htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="reseller-{field}-error"' in resp.text and "<html" not in resp.text
    after = (db.session.query(Reseller).count(), db.session.query(Company).count(), db.session.query(Contact).count())
    assert after == before


def test_admin_edits_any_resellers_settings(admin_client, world):
    r = world.b.reseller
    page = admin_client.get(f"/admin/resellers/{r.id}")
    assert page.status_code == 200 and f"Settings of {r.name}" in page.text and world.b.staff.email in page.text
    resp = admin_client.post(f"/admin/resellers/{r.id}", htmx=True, data={
        "trial_days": "30", "demo_days": "3", "brand_color": "#AA0000", "logo_url": "",
        "embed_origins": "https://partner-b.example"})
    assert resp.status_code == 200 and 'id="reseller-form"' in resp.text
    db.session.refresh(r)
    assert (r.trial_days, r.demo_days, r.brand_color, r.origins) == (30, 3, "#aa0000", ["https://partner-b.example"])
    assert admin_client.get("/admin/resellers/999999").status_code == 404


def test_admin_adds_reseller_user_to_any_reseller(admin_client, world):
    r = world.b.reseller
    resp = admin_client.post(f"/admin/resellers/{r.id}/users", htmx=True,
                             data={"first_name": "Bea", "last_name": "Bee", "email": "bea@b.example"})
    assert resp.status_code == 200 and "bea@b.example" in resp.text
    user = db.session.query(Contact).filter_by(email="bea@b.example").one()
    assert user.reseller_id == r.id and user.company_id == r.own_company.id and user.has_role("reseller")


def test_admin_companies_screen_shows_every_reseller(admin_client, world):
    text = page_text(admin_client.get("/companies"))
    assert "A Corp" in text and "B Corp" in text
    assert "<th>Reseller</th>" in text and '<td class="reseller">Reseller B<td>' in text  # no optional end tags
    assert "Add company" not in text  # companies are added by their reseller
    assert admin_client.get(f"/companies/{world.b.company.id}/edit").status_code == 200


@pytest.mark.parametrize("path, name, rows, own, foreign", [
    ("/companies", "company", "company-rows", "A Corp", "B Corp"),
    ("/contacts", "contact", "contact-rows", "a.example", "b.example"),
    ("/rooms", "room", "room-rows", "A Team", "B Team"),
])
def test_administrator_lists_have_a_reseller_column_and_filter(admin_client, reseller_client, world, path, name,
                                                               rows, own, foreign):
    a, b = world.a.reseller, world.b.reseller
    everyone = admin_client.get(path).text
    assert f'id="{name}-filter-reseller"' in everyone and ">Reseller<" in everyone
    assert own in everyone and foreign in everyone and f'<td class="reseller">{b.name}' in everyone
    only_b = admin_client.get(path, query_string={"reseller": b.id}, htmx=True, headers={"HX-Target": rows}).text
    assert foreign in only_b and own not in only_b and f'<td class="reseller">{a.name}' not in only_b
    # a reseller has no such column or filter, and the parameter cannot widen its view
    theirs = reseller_client.get(path, query_string={"reseller": b.id}).text
    assert f'id="{name}-filter-reseller"' not in theirs and 'class="reseller"' not in theirs
    assert foreign not in theirs
