"""Sessions that end: log out on the server, idle and lifetime limits, new passwords, End sessions."""
import time

import pytest
from sqlalchemy import select

import models
from app import create_app
from config import TestConfig
from extensions import db
from models import AuditEvent, Contact, EndedSession

from . import factories
from .conftest import AuthActions, delivered_mail
from .test_account import set_password, token_from
from .test_embed import ENDED as EMBED_ENDED, header_client

COOKIE = "session"


def signed_in(app, email):
    c = app.test_client()
    AuthActions(c).login(email)
    return c


def copy_of(app, client):
    """Another browser holding a copy of ``client``'s session cookie (stolen, or a backup)."""
    other = app.test_client()
    other.set_cookie(COOKIE, client.get_cookie(COOKIE).value)
    return other


def assert_login_page(resp):
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), resp.status_code


def assert_htmx_401(resp):
    assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/login")


def reload(contact) -> Contact:
    db.session.expire_all()
    return db.session.execute(select(Contact).where(Contact.id == contact.id)).scalar_one()


def set_clock(client, **fields):
    with client.session_transaction() as sess:
        sess.update(fields)


# ---------------------------------------------------------------- log out


def test_logout_ends_the_session_on_the_server(app, world):
    browser = signed_in(app, world.a.staff.email)
    stolen = copy_of(app, browser)
    assert stolen.get("/companies").status_code == 200  # the copy works while the session lives
    resp = browser.post("/logout")
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert_login_page(browser.get("/companies"))
    assert_login_page(stolen.get("/companies"))  # the copy from before the log-out no longer works
    assert_htmx_401(stolen.get("/companies", htmx=True))
    assert db.session.execute(select(EndedSession)).scalars().all() != []


def test_logout_leaves_the_persons_other_sessions_signed_in(app, world):
    """Log out ends this browser's session only; "End sessions" is the way to end them all."""
    laptop = signed_in(app, world.a.staff.email)
    phone = signed_in(app, world.a.staff.email)
    frame = header_client(app, app.test_client(), world.a.staff)
    laptop.post("/logout")
    assert phone.get("/companies").status_code == 200
    assert frame.get("/companies").status_code == 200
    assert reload(world.a.staff).session_epoch == world.a.staff.session_epoch


def test_logout_twice_and_logging_in_again(app, world):
    browser = signed_in(app, world.a.staff.email)
    stolen = copy_of(app, browser)
    browser.post("/logout")
    assert stolen.post("/logout").status_code == 303  # a second log-out of the same session is harmless
    AuthActions(browser).login(world.a.staff.email)  # a new session, with a new id
    assert browser.get("/companies").status_code == 200
    assert_login_page(stolen.get("/companies"))


def test_a_session_from_before_session_ids_must_log_in_again(app, world):
    browser = signed_in(app, world.a.staff.email)
    with browser.session_transaction() as sess:
        del sess["_sid"]
    assert_login_page(browser.get("/companies"))


# ---------------------------------------------------------------- idle and lifetime limits


@pytest.mark.parametrize("field", ["_seen", "_born"])
def test_a_session_that_ran_out_sends_a_normal_request_to_the_login_page(app, world, field):
    browser = signed_in(app, world.a.staff.email)
    limit = app.config["SESSION_IDLE_SECONDS" if field == "_seen" else "SESSION_MAX_SECONDS"]
    set_clock(browser, **{field: int(time.time()) - limit - 5})
    resp = browser.get("/companies?q=acme")
    assert_login_page(resp)
    assert "next=" in resp.headers["Location"]
    page = browser.get(resp.headers["Location"])
    assert page.status_code == 200 and "Your session has ended. Log in again." in page.text
    assert_login_page(browser.get("/companies"))  # and it stays ended


@pytest.mark.parametrize("field", ["_seen", "_born"])
def test_a_session_that_ran_out_answers_htmx_with_401_and_hx_redirect(app, world, field):
    browser = signed_in(app, world.a.staff.email)
    limit = app.config["SESSION_IDLE_SECONDS" if field == "_seen" else "SESSION_MAX_SECONDS"]
    set_clock(browser, **{field: int(time.time()) - limit - 5})
    resp = browser.get("/companies", htmx=True)
    assert_htmx_401(resp)
    assert "<html" not in resp.text


def test_a_session_in_use_is_not_idle(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_IDLE_SECONDS", 3600)
    browser = signed_in(app, world.a.staff.email)
    now = int(time.time())
    set_clock(browser, _seen=now - 3500)  # used 58 minutes ago: one more request renews it
    assert browser.get("/companies").status_code == 200
    with browser.session_transaction() as sess:
        assert sess["_seen"] >= now
    assert browser.get("/companies").status_code == 200


def test_the_lifetime_holds_however_busy_the_session_is(app, world, monkeypatch):
    monkeypatch.setitem(app.config, "SESSION_MAX_SECONDS", 600)
    browser = signed_in(app, world.a.staff.email)
    set_clock(browser, _born=int(time.time()) - 601, _seen=int(time.time()))
    assert_login_page(browser.get("/companies"))


def test_session_limits_are_configurable_from_the_environment(monkeypatch):
    assert (TestConfig.SESSION_IDLE_SECONDS, TestConfig.SESSION_MAX_SECONDS) == (8 * 3600, 14 * 24 * 3600)
    monkeypatch.setenv("FLASK_SESSION_IDLE_SECONDS", "900")
    monkeypatch.setenv("FLASK_SESSION_MAX_SECONDS", "86400")
    other = create_app(TestConfig)
    assert other.config["SESSION_IDLE_SECONDS"] == 900 and other.config["SESSION_MAX_SECONDS"] == 86400


# ---------------------------------------------------------------- a new password


def test_new_password_ends_every_other_session_and_keeps_the_one_that_set_it(app, reseller_client, world):
    contact = world.a.contacts[0]
    with delivered_mail() as sent:
        reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    token = token_from(sent[0])
    here = signed_in(app, contact.email)  # the browser that opens the link
    elsewhere = signed_in(app, contact.email)
    frame = header_client(app, app.test_client(), contact)
    resp = set_password(here, token)
    assert resp.status_code == 303 and resp.headers["Location"] == "/"
    assert here.get("/my-rooms").status_code == 200  # still signed in
    assert_login_page(elsewhere.get("/my-rooms"))
    ended = frame.get("/my-rooms")
    assert ended.status_code == 401 and EMBED_ENDED in ended.text
    assert reseller_client.get("/companies").status_code == 200  # someone else's session: untouched


def test_new_password_from_a_signed_out_browser_ends_every_session(app, reseller_client, world):
    contact = world.a.contacts[0]
    with delivered_mail() as sent:
        reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    elsewhere = signed_in(app, contact.email)
    anon = app.test_client()
    resp = set_password(anon, token_from(sent[0]))
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    assert_login_page(elsewhere.get("/my-rooms"))


# ---------------------------------------------------------------- End sessions


def test_contact_screen_has_end_sessions_button(reseller_client, world):
    contact = world.a.contacts[0]
    page = reseller_client.get(f"/contacts/{contact.id}")
    assert f'action="/contacts/{contact.id}/end-sessions"' in page.text and "End sessions</button>" in page.text


def test_end_sessions_signs_the_contact_out_everywhere_and_is_audited(app, reseller_client, world):
    contact = world.a.contacts[0]
    browser = signed_in(app, contact.email)
    frame = header_client(app, app.test_client(), contact)
    assert browser.get("/my-rooms").status_code == 200 and frame.get("/my-rooms").status_code == 200
    resp = reseller_client.post(f"/contacts/{contact.id}/end-sessions", htmx=True)
    assert resp.status_code == 200 and f"Ended every session of {contact.name}" in resp.headers["HX-Trigger"]
    assert_login_page(browser.get("/my-rooms"))
    assert_htmx_401(browser.get("/my-rooms", htmx=True))
    ended = frame.get("/my-rooms")
    assert ended.status_code == 401 and EMBED_ENDED in ended.text
    assert reseller_client.get("/companies").status_code == 200
    event = db.session.execute(select(AuditEvent).where(AuditEvent.action == "end_sessions")).scalar_one()
    assert (event.actor_id, event.object_id, event.reseller_id) == (world.a.staff.id, contact.id, world.a.reseller.id)
    # they can log in again
    assert signed_in(app, contact.email).get("/my-rooms").status_code == 200


def test_end_sessions_plain_form_redirects_to_the_contact(reseller_client, world):
    contact = world.a.contacts[0]
    resp = reseller_client.post(f"/contacts/{contact.id}/end-sessions")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/contacts/{contact.id}/edit"


def test_end_sessions_of_oneself_keeps_this_session(app, reseller_client, world):
    staff = world.a.staff
    other_browser = signed_in(app, staff.email)
    resp = reseller_client.post(f"/contacts/{staff.id}/end-sessions", htmx=True)
    assert resp.status_code == 200 and "this one stays signed in" in resp.headers["HX-Trigger"]
    assert reseller_client.get("/companies").status_code == 200
    assert_login_page(other_browser.get("/companies"))


def test_end_sessions_of_another_resellers_contact_is_404(app, reseller_client, world):
    contact = world.b.contacts[0]
    browser = signed_in(app, contact.email)
    assert reseller_client.post(f"/contacts/{contact.id}/end-sessions", htmx=True).status_code == 404
    assert reload(contact).session_epoch == contact.session_epoch
    assert browser.get("/my-rooms").status_code == 200


def test_end_sessions_needs_reseller_staff(app, world):
    owner = factories.owner(world.a.company)
    contact = world.a.contacts[0]
    c = signed_in(app, owner.email)
    assert c.post(f"/contacts/{contact.id}/end-sessions", htmx=True).status_code == 404
    assert "End sessions</button>" not in c.get(f"/contacts/{contact.id}").text
    assert reload(contact).session_epoch == contact.session_epoch


def test_end_sessions_requires_login_and_csrf(app, reseller_client, world):
    contact = world.a.contacts[0]
    assert_login_page(app.test_client().post(f"/contacts/{contact.id}/end-sessions"))
    assert reseller_client.post(f"/contacts/{contact.id}/end-sessions", csrf=False).status_code == 400
    assert reload(contact).session_epoch == contact.session_epoch


def test_administrator_can_end_sessions_in_any_reseller(app, world):
    admin = models.create_user("root@vendor.example", "administrator", factories.PASSWORD, None)
    db.session.commit()
    contact = world.b.contacts[0]
    browser = signed_in(app, contact.email)
    c = signed_in(app, admin.email)
    assert c.post(f"/contacts/{contact.id}/end-sessions", htmx=True).status_code == 200
    assert_login_page(browser.get("/my-rooms"))
