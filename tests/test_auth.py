import pytest

import blueprints.auth
import models
from extensions import db

from . import factories
from .conftest import AuthActions


def test_login_full_page_and_fragment(client):
    full = client.get("/login")
    assert full.status_code == 200 and "<html" in full.text
    assert 'for="login-email">Email<' in full.text and 'for="login-password">Password<' in full.text
    assert ">Log in<" in full.text
    frag = client.get("/login", htmx=True)
    assert "<html" not in frag.text and 'id="login-form"' in frag.text


def test_login_wrong_password_is_422_next_to_field(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": "nope"})
    assert resp.status_code == 422 and 'id="login-password-error"' in resp.text
    assert "do not match" in resp.text
    assert client.get("/companies").status_code == 302


def test_login_unknown_email_same_answer(client, world):
    resp = client.post("/login", data={"email": "nobody@nowhere.example", "password": "nope"})
    assert resp.status_code == 422 and "do not match" in resp.text


def test_login_email_ignores_case(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email.upper(), "password": "correct horse battery"})
    assert resp.status_code == 303


def test_login_without_csrf_is_refused(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": "correct horse battery"}, csrf=False)
    assert resp.status_code == 400
    assert client.get("/companies").status_code == 302


def test_login_next_stays_on_site(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": "correct horse battery",
                                       "next": "https://evil.example/"})
    assert resp.headers["Location"] in ("/", "/companies")
    AuthActions(client).logout()
    resp = client.post("/login", data={"email": world.a.staff.email, "password": "correct horse battery",
                                       "next": "/rooms"})
    assert resp.headers["Location"] == "/rooms"


def test_htmx_request_after_session_ends_gets_401_redirect(client):
    resp = client.get("/companies", htmx=True)
    assert resp.status_code == 401 and resp.headers["HX-Redirect"].startswith("/login")


def test_logout_ends_session(client, auth, world):
    auth.login(world.a.staff.email)
    assert client.get("/companies").status_code == 200
    resp = auth.logout()
    assert resp.status_code == 303
    assert client.get("/companies").status_code == 302


def test_security_headers_on_portal_pages(client):
    resp = client.get("/login")
    assert "frame-ancestors 'none'" in resp.headers["Content-Security-Policy"]
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Cache-Control"] == "no-store"


# ---------------------------------------------------------------- next stays on site; no account enumeration; suspension

BAD_NEXT = [
    "https://evil.example/",
    "//evil.example",
    "/\t/evil.example",  # browsers drop the tab: //evil.example
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/\\evil.example",
    "/\\/evil.example",
    "/ /evil.example",
    "/\x00/evil",
]


@pytest.mark.parametrize("target", BAD_NEXT)
def test_login_post_next_off_site_goes_home(client, world, target):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": factories.PASSWORD, "next": target})
    assert resp.status_code == 303 and resp.headers["Location"] in ("/", "/companies")


@pytest.mark.parametrize("target", BAD_NEXT)
def test_login_signed_in_next_off_site_goes_home(client, auth, world, target):
    auth.login(world.a.staff.email)
    resp = client.get("/login", query_string={"next": target})
    assert resp.status_code == 302 and resp.headers["Location"] in ("/", "/companies")


def test_login_next_keeps_a_path_with_query(client, world):
    resp = client.post("/login", data={"email": world.a.staff.email, "password": factories.PASSWORD,
                                       "next": "/contacts?q=ann&page=2"})
    assert resp.headers["Location"] == "/contacts?q=ann&page=2"


def test_login_post_unknown_email_costs_a_password_check(client, world, monkeypatch):
    """No account, or an account without a password yet, does the same hashing work as a wrong password."""
    calls = []
    real = blueprints.auth.check_password_hash
    monkeypatch.setattr(blueprints.auth, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    no_password = factories.contact(world.a.company, password=None)
    for email in ("nobody@nowhere.example", no_password.email, world.a.staff.email):
        resp = client.post("/login", data={"email": email, "password": "wrong password"})
        assert resp.status_code == 422 and "do not match" in resp.text
    assert len(calls) == 3


def test_login_suspended_by_any_path_ends_the_session(client, auth, world):
    """Suspension ends sessions even when the state is set without update_contact (no epoch bump)."""
    staff2 = factories.staff(world.a.reseller)
    auth.login(staff2.email)
    assert client.get("/companies").status_code == 200
    db.session.execute(models.Contact.__table__.update().where(models.Contact.id == staff2.id)
                       .values(state="suspended"))
    db.session.commit()
    resp = client.get("/companies")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


def test_create_app_refuses_the_development_key_on_a_public_url():
    """With the published default key anyone could sign a session cookie for any account.
    (create_app calls check_secret_key; a bare Flask app keeps the shared extensions out of it.)"""
    from flask import Flask

    from app import check_secret_key
    from config import Config

    def app_with(**config):
        app = Flask("check")
        app.config.update({"SECRET_KEY": Config.SECRET_KEY, "PUBLIC_URL": Config.PUBLIC_URL, **config})
        return app

    with pytest.raises(RuntimeError, match="FLASK_SECRET_KEY"):
        check_secret_key(app_with(PUBLIC_URL="https://portal.example"))
    with pytest.raises(RuntimeError, match="FLASK_SECRET_KEY"):
        check_secret_key(app_with(PUBLIC_URL="https://portal.example", SECRET_KEY=""))
    # development on loopback, tests, and any app with its own key start as before
    check_secret_key(app_with())
    check_secret_key(app_with(PUBLIC_URL="http://localhost:5000"))
    check_secret_key(app_with(PUBLIC_URL="https://portal.example", TESTING=True))
    check_secret_key(app_with(PUBLIC_URL="https://portal.example", SECRET_KEY="k" * 64))


def test_login_rate_limit_counts_clients_behind_a_proxy():
    """With FLASK_PROXY_COUNT set, each client behind the load balancer has its own login limit."""
    from app import create_app
    from config import TestConfig
    from extensions import db

    from .conftest import PortalClient

    app = create_app(type("Proxied", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://", "PROXY_COUNT": 1,
                                                      "RATELIMIT_LOGIN": "2 per minute"}))
    app.test_client_class = PortalClient
    with app.app_context():
        db.create_all()
        client = app.test_client()
        data = {"email": "nobody@example.com", "password": "wrong"}
        first = {"X-Forwarded-For": "203.0.113.1"}
        assert [client.post("/login", data=data, headers=first).status_code for _ in range(3)] == [422, 422, 429]
        other = client.post("/login", data=data, headers={"X-Forwarded-For": "203.0.113.2"})
        assert other.status_code == 422
        db.session.remove()
        db.engine.dispose()


def test_login_rate_limit_is_shared_through_redis():
    """With FLASK_RATELIMIT_STORAGE_URI=redis://…, every worker (here: two apps) counts against one limit."""
    import uuid

    redis = pytest.importorskip("redis")
    from app import create_app
    from config import TestConfig
    from extensions import db, limiter

    from .conftest import PortalClient

    server = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5)
    try:
        server.ping()
    except redis.exceptions.RedisError:
        pytest.skip("no Redis answers on 127.0.0.1:6379")
    prefix = f"test-ratelimit-{uuid.uuid4().hex}"  # our own keys only: the Redis may be shared
    config = type("Redis", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_LOGIN": "2 per minute",
                                           "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
                                           "RATELIMIT_STORAGE_OPTIONS": {"key_prefix": prefix}})
    saved = (limiter._storage, limiter._limiter, dict(limiter._storage_options))  # the session app's memory storage
    data = {"email": "nobody@example.com", "password": "wrong"}
    try:
        statuses = []
        for _ in range(2):  # two apps, as two gunicorn workers would be: each makes its own Redis storage
            app = create_app(config)
            app.test_client_class = PortalClient
            with app.app_context():
                db.create_all()
                client = app.test_client()
                statuses += [client.post("/login", data=data).status_code for _ in range(2)]
                db.session.remove()
                db.engine.dispose()
        assert statuses == [422, 422, 429, 429]
        assert type(limiter._storage).__name__ == "RedisStorage"
        assert any(server.scan_iter(f"{prefix}*"))
    finally:
        for key in server.scan_iter(f"{prefix}*"):
            server.delete(key)
        limiter._storage, limiter._limiter = saved[0], saved[1]
        limiter._storage_options.clear()
        limiter._storage_options.update(saved[2])
        server.close()
