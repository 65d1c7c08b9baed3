"""Reseller settings (trial and demo lengths, brand, embed origins) and reseller users."""
import pytest

import models
from extensions import db
from models import AuditEvent, Contact, OutboxMessage

from . import factories
from .conftest import AuthActions

GOOD = {"trial_days": "21", "demo_days": "5", "brand_color": "#12AB34", "logo_url": "https://cdn.partner.example/logo.png",
        "embed_origins": "https://partner.example\nhttps://portal.partner.example:8443/\nhttp://localhost:8000\n"
                         "http://127.0.0.1\nhttps://PARTNER.example"}


def test_edit_full_page_and_fragment(reseller_client, world):
    full = reseller_client.get("/settings")
    assert full.status_code == 200 and "<html" in full.text and 'id="reseller-form"' in full.text
    assert 'id="reseller-users"' in full.text and world.a.staff.email in full.text
    frag = reseller_client.get("/settings", htmx=True)
    assert "<html" not in frag.text and 'id="reseller-form"' in frag.text
    for label in ("Trial length (days)", "Demo length (days)", "Brand colour", "Logo URL", "Embed origins"):
        assert f">{label}</label>" in full.text


def test_edit_nav_link(reseller_client):
    assert '<a href="/settings" aria-current="page">Settings</a>' in reseller_client.get("/settings").text


def test_update_saves_and_normalises(reseller_client, world):
    resp = reseller_client.post("/settings", data=GOOD, htmx=True)
    assert resp.status_code == 200 and "Saved" in resp.text and "<html" not in resp.text
    r = world.a.reseller
    db.session.refresh(r)
    assert (r.trial_days, r.demo_days, r.brand_color, r.logo_url) == (21, 5, "#12ab34", "https://cdn.partner.example/logo.png")
    assert r.origins == ["https://partner.example", "https://portal.partner.example:8443", "http://localhost:8000",
                         "http://127.0.0.1"]
    event = db.session.query(AuditEvent).filter_by(action="update", object_type="Reseller", object_id=r.id).one()
    assert event.actor_id == world.a.staff.id and "trial_days" in event.changes


def test_update_trial_length_applies_to_new_rooms(reseller_client, world):
    reseller_client.post("/settings", data={**GOOD, "trial_days": "30"})
    room = factories.room(world.a.company, "Fresh trial", status="trial")
    assert (room.end_date - models.today()).days == 30


def test_update_plain_form_redirects(reseller_client):
    resp = reseller_client.post("/settings", data=GOOD)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/settings")


@pytest.mark.parametrize("field, value, message", [
    ("trial_days", "0", "Trial length must be between 1 and 365"),
    ("trial_days", "366", "Trial length must be between 1 and 365"),
    ("demo_days", "x", "Demo length must be a whole number"),
    ("brand_color", "blue", "Brand colour must be a colour like #2f6fde"),
    ("brand_color", "#12345", "Brand colour must be"),
    ("logo_url", "http://cdn.example/logo.png", "Logo URL must be an https:// address"),
    ("logo_url", "javascript:alert(1)", "Logo URL must be an https:// address"),
    ("embed_origins", "https://ok.example\nhttp://partner.example", "“http://partner.example” is not an allowed origin: only https"),
    ("embed_origins", "https://*.partner.example", "“https://*.partner.example” is not an allowed origin: wildcards"),
    ("embed_origins", "https://partner.example/shop", "“https://partner.example/shop” is not an allowed origin: an origin is only"),
    ("embed_origins", "partner.example", "“partner.example” is not an allowed origin: it needs a scheme"),
    ("embed_origins", "https://partner.example:99999", "the port must be a number"),
    ("embed_origins", "ftp://partner.example", "only https origins are allowed"),
    ("embed_origins", "https://user@partner.example", "no path, query, fragment or user"),
])
def test_update_bad_input_is_422_next_to_field(reseller_client, world, field, value, message):
    before = (world.a.reseller.trial_days, world.a.reseller.embed_origins)
    resp = reseller_client.post("/settings", data={**GOOD, field: value}, htmx=True)
    assert resp.status_code == 422, resp.text[:300]
    assert message in resp.text and f'id="reseller-{field}-error"' in resp.text
    assert "<html" not in resp.text and 'id="reseller-form"' in resp.text
    db.session.refresh(world.a.reseller)
    assert (world.a.reseller.trial_days, world.a.reseller.embed_origins) == before


def test_clean_origins_rules():
    assert models.clean_origins("") == ""
    assert models.clean_origins(" https://a.example:443 \n\nhttps://a.example ") == "https://a.example"
    assert models.clean_origins("http://localhost:5173") == "http://localhost:5173"
    for bad in ("http://10.0.0.1", "https://a.example/#x", "https://a.example?x", "https://exa_mple.com", "https://a.com:"):
        with pytest.raises(models.RuleError) as err:
            models.clean_origins(f"https://fine.example\n{bad}")
        assert err.value.field == "embed_origins" and bad in err.value.message
    with pytest.raises(models.RuleError, match="at most 50"):
        models.clean_origins("\n".join(f"https://p{i}.example" for i in range(51)))


def test_settings_refused(app, world):
    for person in (world.a.contacts[0], factories.owner(world.a.company)):
        c = app.test_client()
        AuthActions(c).login(person.email)
        assert c.get("/settings").status_code == 404
        assert c.post("/settings", data=GOOD).status_code == 404
        assert c.post("/settings/users", data={"first_name": "X", "last_name": "Y", "email": "x@y.example"}).status_code == 404
    db.session.refresh(world.a.reseller)
    assert world.a.reseller.trial_days == 14


def test_other_resellers_settings_are_404(reseller_client, world):
    b = world.b.reseller
    assert reseller_client.get(f"/admin/resellers/{b.id}").status_code == 404
    assert reseller_client.post(f"/admin/resellers/{b.id}", data=GOOD).status_code == 404
    assert reseller_client.post(f"/admin/resellers/{b.id}/users",
                                data={"first_name": "X", "last_name": "Y", "email": "x@y.example"}).status_code == 404
    db.session.refresh(b)
    assert b.trial_days == 14 and db.session.query(Contact).filter_by(email="x@y.example").count() == 0


def test_create_user(reseller_client, world):
    resp = reseller_client.post("/settings/users", htmx=True,
                                data={"first_name": "Rae", "last_name": "Seller", "email": "rae@a.example"})
    assert resp.status_code == 200 and "<html" not in resp.text and 'id="reseller-users"' in resp.text
    assert "rae@a.example" in resp.text and "Added reseller user Rae Seller" in resp.headers["HX-Trigger"]
    user = db.session.query(Contact).filter_by(email="rae@a.example").one()
    own = world.a.reseller.own_company
    assert (user.company_id, user.reseller_id, user.roles) == (own.id, world.a.reseller.id, {"reseller"})
    assert db.session.query(OutboxMessage).filter(OutboxMessage.recipients.contains("rae@a.example")).count() == 1
    # and they can work right away (once their password is set)
    user.password_hash = factories.PASSWORD_HASH
    db.session.commit()
    c = reseller_client.application.test_client()
    AuthActions(c).login("rae@a.example")
    assert "A Corp" in c.get("/companies").text


@pytest.mark.parametrize("data, field, message", [
    ({"first_name": "", "last_name": "S", "email": "n@a.example"}, "first_name", "First name is required"),
    ({"first_name": "N", "last_name": "", "email": "n@a.example"}, "last_name", "Last name is required"),
    ({"first_name": "N", "last_name": "S", "email": "bad"}, "email", "This email cannot be used"),
    ({"first_name": "N", "last_name": "S", "email": "staff@b.example"}, "email", "This email cannot be used"),
])
def test_create_user_bad_input_is_422(reseller_client, world, data, field, message):
    before = db.session.query(Contact).count()
    resp = reseller_client.post("/settings/users", data=data, htmx=True)
    assert resp.status_code == 422
    assert message in resp.text and f'id="user-{field}-error"' in resp.text and 'id="reseller-users"' in resp.text
    assert db.session.query(Contact).count() == before
