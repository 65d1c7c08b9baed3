"""Inside the partner's frame the embed session has reseller rights, not the rights of whoever holds the secret.

Whoever signs sign-in tokens can open an embed session as any user of the reseller. Such a session
must not add reseller users (a first-party login of the partner's choosing, which could rotate the
secret and lock the partner out) nor change the origins allowed to frame the portal. Other settings
still work in the frame.
"""
import pytest
from sqlalchemy import func, select

import models
from extensions import db
from models import AuditEvent, Contact, OutboxMessage

from .conftest import page_text
from .test_embed import PARTNER, ew, header_client  # noqa: F401  (ew is a fixture)

SETTINGS = {"trial_days": "21", "demo_days": "5", "brand_color": "#12ab34", "logo_url": ""}


def frame_of(app, client, contact):
    """An embed session (header only) that has opened the settings page, so it holds the CSRF token."""
    frame = header_client(app, client, contact)
    assert frame.get("/settings").status_code == 200
    return frame


def counts():
    db.session.expire_all()
    return tuple(db.session.execute(select(func.count()).select_from(m)).scalar()
                 for m in (Contact, OutboxMessage, AuditEvent))


@pytest.mark.parametrize("htmx", [True, False])
def test_embed_session_cannot_add_a_reseller_user(app, client, ew, htmx):  # noqa: F811
    frame = frame_of(app, client, ew.a.staff)
    before = counts()
    resp = frame.post("/settings/users", htmx=htmx,
                      data={"first_name": "Partner", "last_name": "Plant", "email": "partner@evil.example"})
    assert resp.status_code == 403
    assert "Reseller users cannot be added inside your partner site" in page_text(resp)
    assert counts() == before  # no contact, no welcome mail, no audit
    assert db.session.execute(select(Contact).where(Contact.email == "partner@evil.example")).first() is None
    assert frame.get("/companies").status_code == 200  # the session itself goes on


@pytest.mark.parametrize("origins", ["https://evil.example", "", f"{PARTNER}\nhttps://evil.example", "not an origin"])
def test_embed_session_cannot_change_the_embed_origins(app, client, ew, origins):  # noqa: F811
    reseller = ew.a.reseller
    frame = frame_of(app, client, ew.a.staff)
    before = (counts(), reseller.embed_origins, reseller.trial_days)
    resp = frame.post("/settings", htmx=True, data={**SETTINGS, "embed_origins": origins})
    assert resp.status_code == 403
    assert "The allowed embed origins cannot be changed inside your partner site" in page_text(resp)
    db.session.refresh(reseller)
    assert (counts(), reseller.embed_origins, reseller.trial_days) == before  # nothing written, not even trial_days


def test_embed_session_still_changes_the_other_settings(app, client, ew):  # noqa: F811
    reseller = ew.a.reseller
    frame = frame_of(app, client, ew.a.staff)
    page = frame.get("/settings")
    assert page.status_code == 200
    assert 'name="embed_origins"' not in page.text and PARTNER in page.text  # shown, not editable
    assert "Add reseller user</button>" not in page.text and "open the portal directly" in page_text(page)
    # the form as the frame shows it (no origins field), and the same origins sent back unchanged
    for data in (SETTINGS, {**SETTINGS, "trial_days": "30", "embed_origins": PARTNER + "/"}):
        resp = frame.post("/settings", htmx=True, data=data)
        assert resp.status_code == 200 and "Saved" in resp.text, resp.text
    db.session.refresh(reseller)
    assert (reseller.trial_days, reseller.brand_color, reseller.origins) == (30, "#12ab34", [PARTNER])


def test_first_party_session_still_manages_users_and_origins(reseller_client, ew):  # noqa: F811
    page = reseller_client.get("/settings")
    assert 'name="embed_origins"' in page.text and "Add reseller user</button>" in page.text
    resp = reseller_client.post("/settings", htmx=True, data={**SETTINGS, "embed_origins": "https://new.example"})
    assert resp.status_code == 200
    resp = reseller_client.post("/settings/users", htmx=True,
                                data={"first_name": "Rae", "last_name": "Seller", "email": "rae@a.example"})
    assert resp.status_code == 200
    db.session.refresh(ew.a.reseller)
    assert ew.a.reseller.origins == ["https://new.example"]
    assert db.session.execute(select(Contact).where(Contact.email == "rae@a.example")).first() is not None


def contact_form(contact, **changes):
    return {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
            "phone": contact.phone or "", "state": contact.state, "version": contact.version, **changes}


@pytest.mark.parametrize("whose", ["own", "colleague"])
def test_embed_session_cannot_change_a_reseller_users_email(app, client, ew, whose):  # noqa: F811
    """A new email plus "Forgot your password?" would be a first-party login of the partner's choosing."""
    staff = ew.a.staff
    target = staff
    if whose == "colleague":
        target = models.create_user("colleague@a.example", "reseller", "a long password", ew.a.reseller)
        db.session.commit()
    frame = frame_of(app, client, staff)
    before = counts()
    resp = frame.post(f"/contacts/{target.id}", htmx=True, data=contact_form(target, email="partner@evil.example"))
    assert resp.status_code == 403
    assert "The email of a reseller user cannot be changed inside your partner site" in page_text(resp)
    assert counts() == before
    db.session.refresh(target)
    assert target.email != "partner@evil.example"
    # other details of a reseller user, and a customer contact's email, still change in the frame
    resp = frame.post(f"/contacts/{target.id}", htmx=True, data=contact_form(target, phone="+1 555 0100"))
    assert resp.status_code == 200, resp.text
    customer = ew.a.contacts[0]
    resp = frame.post(f"/contacts/{customer.id}", htmx=True, data=contact_form(customer, email="new@customer.example"))
    assert resp.status_code == 200, resp.text
    db.session.expire_all()
    assert (target.phone, customer.email) == ("+1 555 0100", "new@customer.example")


def test_first_party_session_changes_a_reseller_users_email(reseller_client, ew):  # noqa: F811
    staff = ew.a.staff
    resp = reseller_client.post(f"/contacts/{staff.id}", htmx=True,
                                data=contact_form(staff, email="staff.new@a.example"))
    assert resp.status_code == 200, resp.text
    db.session.refresh(staff)
    assert staff.email == "staff.new@a.example"
