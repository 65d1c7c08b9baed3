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
