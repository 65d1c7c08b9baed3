"""Password links (welcome, Reset password, forgot password), the set-password page, and login safety."""
import hashlib
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

import models
from extensions import db
from models import OutboxMessage, PasswordToken, utcnow

from . import factories
from .conftest import AuthActions, delivered_mail, page_text

LINK_RE = re.compile(r"http://portal\.test/password/([A-Za-z0-9_\-]+)")
NEW = "a much longer secret"


def token_from(message) -> str:
    match = LINK_RE.search(message.body)
    assert match, message.body
    assert match.group(0) in message.html
    return match.group(1)


def reset(client, contact, **kw):
    """Reset password as the signed-in manager; return the token from the mail."""
    with delivered_mail() as sent:
        resp = client.post(f"/contacts/{contact.id}/reset-password", htmx=True, **kw)
    assert resp.status_code == 200, resp.text
    assert len(sent) == 1
    return token_from(sent[0])


def set_password(client, token, password=NEW, repeat=None, **kw):
    return client.post(f"/password/{token}", data={"password": password, "password_repeat": repeat or password}, **kw)


def token_row(token) -> PasswordToken:
    db.session.expire_all()
    return db.session.execute(
        select(PasswordToken).where(PasswordToken.token_hash == hashlib.sha256(token.encode()).hexdigest())
    ).scalar_one()


# ---------------------------------------------------------------- Reset password


def test_reset_password_sends_link_with_toast(reseller_client, world):
    contact = world.a.contacts[1]
    with delivered_mail() as sent:
        resp = reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True,
                                    headers={"X-Forwarded-Host": "evil.example"})
    assert resp.status_code == 200 and resp.text == ""
    assert f"Password link sent to {contact.email}" in resp.headers["HX-Trigger"]
    assert len(sent) == 1 and sent[0].recipients == [contact.email]
    body = sent[0].body + sent[0].html
    assert "evil.example" not in body  # links come from PUBLIC_URL (see test_mail), never the request
    assert token_from(sent[0])
    assert factories.PASSWORD not in body and "24 hours" in body


def test_contact_screen_has_reset_password_button(reseller_client, world):
    contact = world.a.contacts[1]
    text = page_text(reseller_client.get(f"/contacts/{contact.id}/edit"))
    url = f"/contacts/{contact.id}/reset-password"
    assert f'hx-post="{url}" hx-swap="none"' in text and "Reset password</button>" in text
    contact.state = "suspended"
    db.session.commit()
    text = page_text(reseller_client.get(f"/contacts/{contact.id}/edit"))
    assert url not in text and "no password link can be sent" in text


def test_reset_password_stores_only_the_token_hash(reseller_client, world):
    contact = world.a.contacts[1]
    token = reset(reseller_client, contact)
    row = token_row(token)
    assert row.contact_id == contact.id and row.purpose == "reset" and row.used_at is None
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest() != token
    assert timedelta(hours=23, minutes=59) < row.expires_at - utcnow() <= timedelta(hours=24)
    stored = db.session.execute(select(PasswordToken.token_hash)).scalars().all()
    assert token not in stored


def test_reset_password_is_audited(reseller_client, world):
    contact = world.a.contacts[1]
    reset(reseller_client, contact)
    event = db.session.execute(
        select(models.AuditEvent).where(models.AuditEvent.action == "password_link")
    ).scalar_one()
    assert event.actor_id == world.a.staff.id and event.object_id == contact.id


def test_reset_password_plain_form_redirects_with_flash(reseller_client, world):
    contact = world.a.contacts[1]
    resp = reseller_client.post(f"/contacts/{contact.id}/reset-password")
    assert resp.status_code == 303 and resp.headers["Location"] == f"/contacts/{contact.id}/edit"
    page = reseller_client.get(resp.headers["Location"])
    assert f"Password link sent to {contact.email}" in page.text


def test_reset_password_other_resellers_contact_404(reseller_client, world):
    with delivered_mail() as sent:
        resp = reseller_client.post(f"/contacts/{world.b.contacts[0].id}/reset-password", htmx=True)
    assert resp.status_code == 404 and sent == []
    resp = reseller_client.post("/contacts/999999/reset-password")
    assert resp.status_code == 404


def test_reset_password_requires_a_manager(client, auth, world):
    auth.login(world.a.contacts[0].email)  # a Host, not a manager
    resp = client.post(f"/contacts/{world.a.contacts[1].id}/reset-password", htmx=True)
    assert resp.status_code == 404


def test_reset_password_requires_login(client, world):
    resp = client.post(f"/contacts/{world.a.contacts[1].id}/reset-password")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_reset_password_without_csrf_refused(reseller_client, world):
    resp = reseller_client.post(f"/contacts/{world.a.contacts[1].id}/reset-password", csrf=False)
    assert resp.status_code == 400


def test_reset_password_suspended_contact_refused(reseller_client, world):
    contact = world.a.contacts[1]
    contact.state = "suspended"
    db.session.commit()
    with delivered_mail() as sent:
        resp = reseller_client.post(f"/contacts/{contact.id}/reset-password", htmx=True)
    assert resp.status_code == 409 and "suspended" in resp.text and sent == []


# ---------------------------------------------------------------- welcome email


def test_create_contact_queues_welcome_link(app, client, world):
    contact = models.create_contact(world.a.company, {"first_name": "Wendy", "last_name": "New", "email": "wendy@new.example"})
    db.session.commit()
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipients == "wendy@new.example")).scalar_one()
    assert row.subject == "Welcome to the Reseller Portal" and "Hello Wendy" in row.body_text
    assert "wendy@new.example" in row.body_html and row.sent_at is None
    token = LINK_RE.search(row.body_text).group(1)
    tok = token_row(token)
    assert tok.purpose == "welcome" and tok.contact_id == contact.id
    assert tok.expires_at - utcnow() > timedelta(days=6)
    # the new contact chooses a password and logs in
    assert set_password(client, token).status_code == 303
    AuthActions(client).login("wendy@new.example", NEW)


def test_create_contact_rolled_back_leaves_no_mail(world):
    models.create_contact(world.a.company, {"first_name": "Gone", "last_name": "Soon", "email": "gone@new.example"})
    db.session.rollback()
    assert db.session.execute(select(OutboxMessage).where(OutboxMessage.recipients == "gone@new.example")).first() is None


# ---------------------------------------------------------------- set password


def test_set_password_full_page_and_fragment(reseller_client, world):
    token = reset(reseller_client, world.a.contacts[1])
    anon = reseller_client.application.test_client()
    full = anon.get(f"/password/{token}")
    assert full.status_code == 200 and "<html" in full.text and 'id="password-form"' in full.text
    for label in ("New password", "Repeat new password", "Set password"):
        assert label in full.text
    frag = anon.get(f"/password/{token}", htmx=True)
    assert "<html" not in frag.text and 'id="password-form"' in frag.text
    assert token_row(token).used_at is None  # looking at the page does not spend the link


def test_set_password_success(app, reseller_client, world):
    contact = world.a.contacts[1]
    # the contact is logged in elsewhere
    elsewhere = app.test_client()
    AuthActions(elsewhere).login(contact.email)
    assert elsewhere.get("/my-rooms").status_code == 200
    token = reset(reseller_client, contact)
    anon = app.test_client()
    resp = set_password(anon, token)
    assert resp.status_code == 303 and resp.headers["Location"] == "/login"
    login_page = anon.get("/login")
    assert "Your new password is set" in login_page.text
    assert "Log out" not in login_page.text  # setting the password logs nobody in
    assert token_row(token).used_at is not None
    # the other session has ended
    resp = elsewhere.get("/my-rooms")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # old password refused, new one works
    assert anon.post("/login", data={"email": contact.email, "password": factories.PASSWORD}).status_code == 422
    AuthActions(anon).login(contact.email, NEW)
    assert db.session.execute(
        select(models.AuditEvent).where(models.AuditEvent.action == "set_password", models.AuditEvent.object_id == contact.id)
    ).scalar_one()


def test_set_password_link_single_use(app, reseller_client, world):
    token = reset(reseller_client, world.a.contacts[1])
    anon = app.test_client()
    assert set_password(anon, token).status_code == 303
    again = set_password(anon, token, "yet another secret")
    assert again.status_code == 410 and "already been used" in again.text and "Get a new link" in again.text
    assert anon.get(f"/password/{token}").status_code == 410
    AuthActions(anon).login(world.a.contacts[1].email, NEW)  # the second try changed nothing


def test_set_password_spends_older_links(app, reseller_client, world):
    contact = world.a.contacts[1]
    first = reset(reseller_client, contact)
    second = reset(reseller_client, contact)
    anon = app.test_client()
    assert set_password(anon, second).status_code == 303
    assert set_password(anon, first, "yet another secret").status_code == 410


def test_set_password_expired_link(app, reseller_client, world):
    token = reset(reseller_client, world.a.contacts[1])
    db.session.execute(update(PasswordToken).values(expires_at=utcnow() - timedelta(seconds=1)))
    db.session.commit()
    anon = app.test_client()
    page = anon.get(f"/password/{token}")
    assert page.status_code == 410 and "expired" in page.text and "New password" not in page.text
    resp = set_password(anon, token)
    assert resp.status_code == 410 and "expired" in resp.text
    assert token_row(token).used_at is None


def _edit(contact, **kw):
    db.session.refresh(contact)
    return {"first_name": contact.first_name, "last_name": contact.last_name, "email": contact.email,
            "phone": contact.phone or "", "state": contact.state, "version": contact.version, **kw}


@pytest.mark.parametrize("change", [{"email": "moved.on@elsewhere.example"}, {"state": "suspended"}])
def test_set_password_link_ends_when_email_changes_or_contact_is_suspended(app, reseller_client, world, change):
    """A link sent to the old address (or before a suspension) cannot set the password afterwards."""
    contact = world.a.contacts[1]
    token = reset(reseller_client, contact)
    resp = reseller_client.post(f"/contacts/{contact.id}", data=_edit(contact, **change), htmx=True)
    assert resp.status_code == 200
    anon = app.test_client()
    page = anon.get(f"/password/{token}")
    assert page.status_code == 410 and "expired" in page.text
    assert set_password(anon, token).status_code == 410
    db.session.refresh(contact)
    assert contact.password_hash == factories.PASSWORD_HASH


def test_set_password_link_survives_other_edits(app, reseller_client, world):
    contact = world.a.contacts[1]
    token = reset(reseller_client, contact)
    assert reseller_client.post(f"/contacts/{contact.id}", data=_edit(contact, phone="0123 456"),
                                htmx=True).status_code == 200
    assert set_password(app.test_client(), token).status_code == 303


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
    lambda t: t[:-4],
    lambda t: "x" * 300,
])
def test_set_password_tampered_link(app, reseller_client, world, mangle):
    token = reset(reseller_client, world.a.contacts[1])
    anon = app.test_client()
    page = anon.get(f"/password/{mangle(token)}")
    assert page.status_code == 400 and "not valid" in page.text
    resp = set_password(anon, mangle(token))
    assert resp.status_code == 400 and "not valid" in resp.text
    assert token_row(token).used_at is None


@pytest.mark.parametrize("password, repeat, field, message", [
    ("short", "short", "password", "at least 10 characters"),
    ("aaaaaaaaaaaa", "aaaaaaaaaaaa", "password", "more than one different character"),
    ("long enough secret", "long enough secreT", "password_repeat", "not the same"),
    ("x" * 201 + "y", "x" * 201 + "y", "password", "at most 200"),
])
def test_set_password_weak_or_mismatched(app, reseller_client, world, password, repeat, field, message):
    contact = world.a.contacts[1]
    token = reset(reseller_client, contact)
    anon = app.test_client()
    resp = set_password(anon, token, password, repeat, htmx=True)
    assert resp.status_code == 422
    text = page_text(resp)
    assert "<html" not in text and 'id="password-form"' in text
    assert re.search(f'id="password-{field}-error">[^<]*{message}', text)
    assert f'aria-describedby="password-{field}-error"' in text
    full = set_password(anon, token, password, repeat)
    assert full.status_code == 422 and "<html" in full.text and message in full.text
    # the link is still good for a proper password
    assert token_row(token).used_at is None
    assert set_password(anon, token).status_code == 303


# ---------------------------------------------------------------- forgot password


def test_forgot_page(client):
    full = client.get("/forgot")
    assert full.status_code == 200 and "<html" in full.text and 'id="forgot-form"' in full.text
    assert 'for="forgot-email">Email<' in full.text and "Send link" in full.text
    frag = client.get("/forgot", htmx=True)
    assert "<html" not in frag.text and 'id="forgot-form"' in frag.text


def test_login_page_links_to_forgot(client):
    assert 'href="/forgot">Forgot your password?<' in client.get("/login").text


def _forgot(app, email):
    c = app.test_client()
    with delivered_mail() as sent:
        # buffered: the test client closes the response, as a server does once it has sent it,
        # which runs the work /forgot leaves until after its answer
        resp = c.post("/forgot", data={"email": email}, buffered=True)
    follow = c.get(resp.headers.get("Location", "/login"))
    return resp, page_text(follow).replace(email, "EMAIL"), sent


def without_tokens(text: str) -> str:
    """Drop the per-request CSRF token and CSP nonce, which differ on every page."""
    return re.sub(r'(csrf_token" value="|X-CSRFToken": "|nonce": "|nonce=")[^"]+', r"\1", text, flags=re.I)


def test_forgot_answers_the_same_for_known_and_unknown_email(app, world):
    known = world.a.contacts[1].email
    resp_k, page_k, sent_k = _forgot(app, known)
    resp_u, page_u, sent_u = _forgot(app, "nobody@nowhere.example")
    assert resp_k.status_code == resp_u.status_code == 303
    assert resp_k.headers["Location"] == resp_u.headers["Location"] == "/login"
    assert resp_k.get_data() == resp_u.get_data()
    assert without_tokens(page_k) == without_tokens(page_u)
    assert "If EMAIL belongs to a live account" in page_k
    assert [m.recipients for m in sent_k] == [[known]] and sent_u == []
    assert token_from(sent_k[0])


def test_forgot_does_its_work_after_the_answer(app, world):
    """Nothing that depends on the email's account is done while the person waits (no timing oracle)."""
    known = world.a.contacts[1].email
    tokens = lambda: db.session.execute(select(PasswordToken)).scalars().all()  # noqa: E731
    before = len(tokens())
    c = app.test_client()
    with delivered_mail() as sent:
        resp = c.post("/forgot", data={"email": known})
        assert resp.status_code == 303 and resp.headers["Location"] == "/login"
        db.session.expire_all()
        assert len(tokens()) == before and sent == []  # answered; nothing looked up, written or sent yet
        resp.close()  # the server has sent the answer
    assert [m.recipients for m in sent] == [[known]]
    db.session.expire_all()
    assert len(tokens()) == before + 1


def test_forgot_queues_the_mail_and_never_sends_it_itself(app, world, monkeypatch):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setitem(app.config, "MAIL_SUPPRESS_SEND", False)
    monkeypatch.setitem(app.config, "MAIL_SERVER", "127.0.0.1")
    monkeypatch.setitem(app.config, "MAIL_PORT", port)
    known = world.a.contacts[1].email
    resp = app.test_client().post("/forgot", data={"email": known}, buffered=True)
    assert resp.status_code == 303
    db.session.expire_all()
    row = db.session.execute(select(OutboxMessage).where(OutboxMessage.recipients == known)
                             .order_by(OutboxMessage.id.desc())).scalars().first()
    assert "new password" in row.subject
    # the request only wrote to the outbox (SMTP is down, and it never tried); the worker delivers it
    assert row.sent_at is None and row.attempts == 0 and row.last_error is None and row.next_attempt_at <= utcnow()


def test_forgot_htmx_answer_is_the_same_for_known_and_unknown(app, world):
    answers = []
    for email in (world.a.contacts[1].email, "nobody@nowhere.example"):
        resp = app.test_client().post("/forgot", data={"email": email}, htmx=True, buffered=True)
        answers.append((resp.status_code, resp.headers["HX-Redirect"], resp.get_data()))
    assert answers[0] == answers[1] == (204, "/login", b"")


def test_forgot_suspended_contact_gets_no_mail(app, world):
    contact = world.a.contacts[1]
    contact.state = "suspended"
    db.session.commit()
    resp, page, sent = _forgot(app, contact.email)
    assert resp.status_code == 303 and "If EMAIL belongs to a live account" in page and sent == []


def test_forgot_email_is_case_insensitive(app, world):
    _, _, sent = _forgot(app, world.a.contacts[1].email.upper())
    assert [m.recipients for m in sent] == [[world.a.contacts[1].email]]


@pytest.mark.parametrize("email, message", [("", "Email is required"), ("not-an-email", "valid email")])
def test_forgot_bad_email_422(client, email, message):
    resp = client.post("/forgot", data={"email": email}, htmx=True)
    assert resp.status_code == 422 and 'id="forgot-email-error"' in resp.text and message in resp.text
    assert "<html" not in resp.text


def test_forgot_rate_limited(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_FORGOT", "2 per minute")
    for _ in range(2):
        assert client.post("/forgot", data={"email": "x@example.com"}).status_code == 303
    resp = client.post("/forgot", data={"email": "x@example.com"})
    assert resp.status_code == 429
    wait = int(resp.headers["Retry-After"])
    assert 0 < wait <= 60 and f"Try again in {wait} seconds" in resp.text


# ---------------------------------------------------------------- login safety


def test_login_rate_limited_with_retry_after(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_LOGIN", "3 per minute")
    for _ in range(3):
        assert client.post("/login", data={"email": world.a.staff.email, "password": "wrong"}).status_code == 422
    resp = client.post("/login", data={"email": world.a.staff.email, "password": factories.PASSWORD})
    assert resp.status_code == 429
    wait = int(resp.headers["Retry-After"])
    assert 0 < wait <= 60 and "Too many attempts" in resp.text and f"Try again in {wait} seconds" in resp.text
    htmx = client.post("/login", data={"email": world.a.staff.email, "password": "x"}, htmx=True)
    assert htmx.status_code == 429 and "Try again in" in htmx.text and "Retry-After" in htmx.headers


def test_login_suspended_contact_refused(client, world):
    contact = world.a.contacts[1]
    contact.state = "suspended"
    db.session.commit()
    resp = client.post("/login", data={"email": contact.email, "password": factories.PASSWORD})
    assert resp.status_code == 422 and "suspended" in resp.text
    assert client.get("/companies").status_code == 302


def test_login_suspending_ends_the_session(app, world):
    owner = world.a.contacts[1]
    owner.roles = {"owner"}
    db.session.commit()
    c = app.test_client()
    AuthActions(c).login(owner.email)
    assert c.get("/companies").status_code == 200
    models.update_contact(owner, {"first_name": owner.first_name, "last_name": owner.last_name,
                                  "email": owner.email, "state": "suspended"})
    db.session.commit()
    resp = c.get("/companies")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_login_fixes_the_session(client, world):
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
    AuthActions(client).login(world.a.staff.email)
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess["_user_id"] == f"{world.a.staff.id}:{world.a.staff.session_epoch}"
