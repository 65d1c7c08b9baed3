"""Embedding: signed sign-in, framing headers, embed sessions in a header or a partitioned cookie,
secret rotation with its grace period, ending all embed sessions, the settings page and the CLI."""
import base64
import hashlib
import hmac
import json
import os
import re
import threading
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

import embed_session
import models
from embed_signin import CLOCK_SKEW_SECONDS
from extensions import db
from models import AuditEvent, Company, EmbedTokenUse

from . import factories
from .conftest import AuthActions, page_text

PARTNER = "https://partner-a.example"
PARTNER_B = "https://partner-b.example"
ENDED = "Your session has ended. Open it again from your partner site."


@pytest.fixture
def ew(world):
    """The world, with partner origins for both resellers."""
    world.a.reseller.embed_origins = PARTNER
    world.b.reseller.embed_origins = PARTNER_B
    db.session.commit()
    return world


def make_token(contact=None, secret=None, sub=None, headers=None, algorithm="HS256", drop=(), **claims):
    body = {"sub": sub if sub is not None else contact.email, "exp": int(time.time()) + 120,
            "jti": base64.urlsafe_b64encode(os.urandom(12)).decode()}
    body.update(claims)
    for name in drop:
        body.pop(name, None)
    key = secret if secret is not None else contact.reseller.embed_secret
    return jwt.encode(body, key, algorithm=algorithm, headers=headers)


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")


class EmbedClient:
    """A browser that keeps no cookie: it sends the embed session only in the X-Embed-Session header."""

    def __init__(self, app, session_token):
        self.client = app.test_client(use_cookies=False)
        self.token = session_token
        self.csrf = None

    def open(self, method, url, htmx=False, csrf=True, headers=None, **kw):
        hdrs = {"X-Embed-Session": self.token, **(headers or {})}
        if htmx:
            hdrs["HX-Request"] = "true"
        if csrf and method == "POST" and self.csrf:
            hdrs["X-CSRFToken"] = self.csrf
        resp = self.client.open(url, method=method, headers=hdrs, csrf=False, **kw)
        found = re.search(r'data-csrf="([^"]+)"', resp.get_data(as_text=True))
        if found:
            self.csrf = found.group(1)
        return resp

    def get(self, url, **kw):
        return self.open("GET", url, **kw)

    def post(self, url, **kw):
        return self.open("POST", url, **kw)


def sign_in(client, contact, **claims):
    resp = client.get("/embed/sso", query_string={"token": make_token(contact, **claims)})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp


def session_of(resp) -> str:
    return re.search(r'data-session="([^"]+)"', resp.get_data(as_text=True)).group(1)


def header_client(app, client, contact, **claims) -> EmbedClient:
    return EmbedClient(app, session_of(sign_in(client, contact, **claims)))


def csp(resp) -> str:
    return resp.headers.get("Content-Security-Policy", "")


def frame_ancestors(resp) -> str:
    return re.search(r"frame-ancestors ([^;]*)", csp(resp)).group(1).strip()


def assert_not_signed_in(client):
    resp = client.get("/companies")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# --------------------------------------------------------------------------- /embed/sso: a valid token


def test_sso_valid_token_opens_shell_with_partitioned_cookie(client, ew):
    resp = sign_in(client, ew.a.staff)
    text = resp.get_data(as_text=True)
    assert 'data-embed-shell' in text and 'data-embed-path="/companies"' in text
    assert "A Corp" not in text  # the shell carries no data; it opens the page through htmx
    cookie = resp.headers["Set-Cookie"]
    assert cookie.startswith(f"{embed_session.COOKIE}={session_of(resp)};")
    for attr in ("Secure", "HttpOnly", "SameSite=None", "Partitioned", "Path=/"):
        assert attr in cookie
    assert len(resp.headers.getlist("Set-Cookie")) == 1  # no first-party session cookie
    assert frame_ancestors(resp) == PARTNER and "X-Frame-Options" not in resp.headers


def test_sso_records_jti_until_expiry(client, ew):
    """Until the token is past its exp and the clock leeway: until then a replay would pass every other check."""
    exp = int(time.time()) + 200
    sign_in(client, ew.a.staff, jti="order-42", exp=exp)
    use = db.session.execute(db.select(EmbedTokenUse)).scalar_one()
    assert use.jti == f"{ew.a.reseller.id}:order-42" and use.reseller_id == ew.a.reseller.id
    assert abs((use.expires_at - models.utcnow()).total_seconds() - 200 - CLOCK_SKEW_SECONDS) < 5


def test_sso_purges_expired_jti_records(client, ew):
    db.session.add(EmbedTokenUse(jti="1:old", reseller_id=ew.a.reseller.id,
                                 expires_at=models.utcnow() - timedelta(minutes=1)))
    db.session.commit()
    sign_in(client, ew.a.staff)
    jtis = db.session.execute(db.select(EmbedTokenUse.jti)).scalars().all()
    assert "1:old" not in jtis and len(jtis) == 1


def test_sso_path_claim_is_opened(client, ew):
    resp = sign_in(client, ew.a.staff, path="/rooms?q=team")
    assert 'data-embed-path="/rooms?q=team"' in resp.get_data(as_text=True)


def test_sso_default_path_for_host_is_my_rooms(client, ew):
    resp = sign_in(client, ew.a.contacts[0])
    assert 'data-embed-path="/my-rooms"' in resp.get_data(as_text=True)


def test_sso_email_is_case_insensitive(client, ew):
    resp = client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, sub=ew.a.staff.email.upper())})
    assert resp.status_code == 200


def test_sso_exp_at_the_limit_is_accepted(client, ew):
    sign_in(client, ew.a.staff, exp=int(time.time()) + 300)


def test_sso_past_nbf_and_iat_within_clock_skew_are_accepted(app, client, ew):
    now = int(time.time())
    sign_in(client, ew.a.staff, iat=now - 10, nbf=now - 10)
    sign_in(app.test_client(), ew.a.staff, iat=now + 10, nbf=now + 10)  # the partner's clock a little ahead


def test_sso_exp_just_past_within_clock_skew_is_accepted_once(app, client, ew):
    """A partner clock a little behind ours: the leeway accepts the token, and it stays single use."""
    token = make_token(ew.a.staff, exp=int(time.time()) - 10)
    assert client.get("/embed/sso", query_string={"token": token}).status_code == 200
    sign_in(app.test_client(), ew.a.staff)  # another sign-in purges the jti records that have run out
    again = app.test_client().get("/embed/sso", query_string={"token": token})
    assert again.status_code == 401 and "already used" in again.text


def test_sso_same_jti_at_once_signs_in_only_once(app, ew):
    """Two requests with one token at the same moment: the jti's primary key lets exactly one through."""
    token = make_token(ew.a.staff)
    barrier = threading.Barrier(2)
    statuses = []

    def open_link():
        client = app.test_client()
        barrier.wait()
        statuses.append(client.get("/embed/sso", query_string={"token": token}).status_code)

    threads = [threading.Thread(target=open_link) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(statuses) == [200, 401]
    assert len(db.session.execute(db.select(EmbedTokenUse)).all()) == 1


# --------------------------------------------------------------------------- /embed/sso: every bad token


def _alg_none(w):
    claims = {"sub": w.a.staff.email, "exp": int(time.time()) + 60, "jti": "none-1"}
    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}."


def _hs512(w):
    """Signed with the right secret, but not with HS256."""
    claims = {"sub": w.a.staff.email, "exp": int(time.time()) + 60, "jti": "hs512-1"}
    signing_input = f"{b64({'alg': 'HS512', 'typ': 'JWT'})}.{b64(claims)}"
    sig = hmac.new(w.a.reseller.embed_secret.encode(), signing_input.encode(), hashlib.sha512).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


def _tampered_signature(w):
    token = make_token(w.a.staff)
    head, body, sig = token.split(".")
    return f"{head}.{body}.{sig[:-4]}{'AAAA' if not sig.endswith('AAAA') else 'BBBB'}"


def _tampered_claims(w):
    """A's valid token for a contact, with sub changed to the staff user: the signature no longer matches."""
    token = make_token(w.a.contacts[1])
    head, body, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    claims["sub"] = w.a.staff.email
    return f"{head}.{b64(claims)}.{sig}"


def _suspended(w):
    c = w.a.contacts[1]
    models.update_contact(c, {"first_name": c.first_name, "last_name": c.last_name, "email": c.email, "state": "suspended"})
    db.session.commit()
    return make_token(c)


def _raw_claims(w, claims_json: str) -> str:
    """Signed with A's secret, claims exactly as given (JSON that PyJWT parses, like NaN)."""
    body = base64.urlsafe_b64encode(claims_json.encode()).decode().rstrip("=")
    signing_input = f"{b64({'alg': 'HS256', 'typ': 'JWT'})}.{body}"
    sig = hmac.new(w.a.reseller.embed_secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(sig).decode().rstrip('=')}"


BAD_TOKENS = {
    "expired": (lambda w: make_token(w.a.staff, exp=int(time.time()) - CLOCK_SKEW_SECONDS - 5), 401, "has expired"),
    "exp_too_far_ahead": (lambda w: make_token(w.a.staff, exp=int(time.time()) + 3600), 401, "at most 5 minutes"),
    "no_exp": (lambda w: make_token(w.a.staff, drop=("exp",)), 401, "needs an exp"),
    "exp_not_a_number": (lambda w: make_token(w.a.staff, exp="tomorrow"), 401, "not valid"),
    "exp_nan": (lambda w: _raw_claims(w, f'{{"sub": "{w.a.staff.email}", "exp": NaN, "jti": "nan-1"}}'), 401,
                "needs an exp"),
    "exp_infinity": (lambda w: _raw_claims(w, f'{{"sub": "{w.a.staff.email}", "exp": Infinity, "jti": "inf-1"}}'),
                     401, "needs an exp"),
    "exp_huge_integer": (lambda w: make_token(w.a.staff, exp=10**400), 401, "at most 5 minutes"),
    "nbf_in_the_future": (lambda w: make_token(w.a.staff, nbf=int(time.time()) + 120), 401, "not valid yet"),
    "iat_in_the_future": (lambda w: make_token(w.a.staff, iat=int(time.time()) + 120), 401, "not valid yet"),
    "iat_not_a_number": (lambda w: make_token(w.a.staff, iat="now"), 401, "iat is not a time"),
    "nbf_nan": (lambda w: _raw_claims(w, f'{{"sub": "{w.a.staff.email}", "exp": {int(time.time()) + 60}, '
                                         f'"jti": "nbf-nan", "nbf": NaN}}'), 401, "nbf is not a time"),
    "no_jti": (lambda w: make_token(w.a.staff, drop=("jti",)), 401, "needs a jti"),
    "jti_too_long": (lambda w: make_token(w.a.staff, jti="x" * 200), 401, "needs a jti"),
    "foreign_reseller_secret": (lambda w: make_token(w.a.staff, secret=w.b.reseller.embed_secret), 401, "not valid"),
    "sub_of_other_reseller": (lambda w: make_token(w.b.staff, secret=w.a.reseller.embed_secret), 401, "not valid"),
    "tampered_signature": (_tampered_signature, 401, "not valid"),
    "tampered_claims": (_tampered_claims, 401, "not valid"),
    "malformed": (lambda w: "not-a-jwt", 401, "not valid"),
    "malformed_segments": (lambda w: "a.b.c", 401, "not valid"),
    "empty": (lambda w: "", 401, "not valid"),
    "alg_none": (_alg_none, 401, "not valid"),
    "alg_hs512": (_hs512, 401, "not valid"),
    "unknown_sub": (lambda w: make_token(w.a.staff, sub="nobody@nowhere.example"), 401, "not valid"),
    "sub_not_a_string": (lambda w: make_token(w.a.staff, sub=["x"]), 401, "not valid"),
    "administrator_sub": (lambda w: make_token(w.a.staff, sub=factories.admin().email), 401, "not valid"),
    "suspended_sub": (_suspended, 403, "suspended"),
    "path_with_host": (lambda w: make_token(w.a.staff, path="https://evil.example/companies"), 403, "cannot open"),
    "path_protocol_relative": (lambda w: make_token(w.a.staff, path="//evil.example/companies"), 403, "cannot open"),
    "path_javascript": (lambda w: make_token(w.a.staff, path="javascript:alert(1)"), 403, "cannot open"),
    "path_login_page": (lambda w: make_token(w.a.staff, path="/login"), 403, "cannot open"),
    "path_unknown_page": (lambda w: make_token(w.a.staff, path="/no-such-page"), 403, "cannot open"),
    "path_password_page": (lambda w: make_token(w.a.staff, path="/password/abc"), 403, "cannot open"),
    "path_forgot_page": (lambda w: make_token(w.a.staff, path="/forgot"), 403, "cannot open"),
    "path_dot_segments": (lambda w: make_token(w.a.staff, path="/rooms/../login"), 403, "cannot open"),
    "path_static_file": (lambda w: make_token(w.a.staff, path="/static/../login"), 403, "cannot open"),
    "path_embed_page": (lambda w: make_token(w.a.staff, path=f"/embed/{w.a.reseller.id}/open?path=/rooms"), 403,
                        "cannot open"),
    "path_post_only": (lambda w: make_token(w.a.staff, path="/logout"), 403, "cannot open"),
    "path_fragment": (lambda w: make_token(w.a.staff, path="/rooms#x"), 403, "cannot open"),
    "path_backslash": (lambda w: make_token(w.a.staff, path="/\\evil.example"), 403, "cannot open"),
    "path_not_a_string": (lambda w: make_token(w.a.staff, path=7), 403, "cannot open"),
}


@pytest.mark.parametrize("case", list(BAD_TOKENS))
def test_sso_bad_token_gives_clear_page_and_no_session(client, ew, case):
    build, status, message = BAD_TOKENS[case]
    token = build(ew)
    resp = client.get("/embed/sso", query_string={"token": token})
    text = page_text(resp)
    assert resp.status_code == status
    assert message in text and "<html" in text
    assert "Set-Cookie" not in resp.headers
    assert "data-session" not in text and "X-Embed-Session" not in text
    assert "A Corp" not in text and ew.a.contacts[0].email not in text and ew.a.staff.email not in text
    assert 'type="password"' not in text
    assert db.session.execute(db.select(EmbedTokenUse)).first() is None
    assert_not_signed_in(client)


def test_sso_replayed_jti_is_refused(app, client, ew):
    token = make_token(ew.a.staff)
    first = app.test_client().get("/embed/sso", query_string={"token": token})
    assert first.status_code == 200
    again = client.get("/embed/sso", query_string={"token": token})
    assert again.status_code == 401 and "already used" in again.get_data(as_text=True)
    assert "Set-Cookie" not in again.headers
    assert_not_signed_in(client)


def test_sso_same_jti_in_two_resellers_is_not_a_replay(client, ew):
    sign_in(client, ew.a.staff, jti="shared-id")
    resp = client.get("/embed/sso", query_string={"token": make_token(ew.b.staff, jti="shared-id")})
    assert resp.status_code == 200


def test_sso_problem_framed_only_when_signature_is_proven(client, ew):
    expired = client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, exp=int(time.time()) - 5)})
    assert frame_ancestors(expired) == PARTNER and "X-Frame-Options" not in expired.headers
    forged = client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret="x" * 43)})
    assert frame_ancestors(forged) == "'none'" and forged.headers["X-Frame-Options"] == "DENY"


def test_sso_unknown_sub_answers_like_bad_signature(client, ew):
    """No email enumeration: an unknown sub and a forged token for a real one look the same."""
    unknown = client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, sub="nobody@x.example")})
    forged = client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret="y" * 43)})
    assert unknown.status_code == forged.status_code == 401
    strip = lambda r: re.sub(r'(nonce-|Nonce": "|nonce=")[\w-]+', "", r.get_data(as_text=True))  # noqa: E731
    assert strip(unknown) == strip(forged)
    assert frame_ancestors(unknown) == frame_ancestors(forged)


def test_sso_failure_ends_an_older_embed_cookie(client, ew):
    sign_in(client, ew.a.staff)
    resp = client.get("/embed/sso", query_string={"token": "garbage"})
    assert resp.status_code == 401
    assert f"{embed_session.COOKIE}=;" in resp.headers["Set-Cookie"]
    assert client.get("/companies").status_code == 302


# --------------------------------------------------------------------------- framing headers


def test_csp_non_embed_responses_deny_framing(reseller_client, ew):
    for url in ("/login", "/companies", "/embed/no-such-page"):
        resp = reseller_client.get(url)
        assert frame_ancestors(resp) == "'none'", url
        assert resp.headers["X-Frame-Options"] == "DENY", url


def test_csp_static_files_and_error_pages_deny_framing(app, reseller_client, ew):
    answers = {
        "static": reseller_client.get("/static/portal.css"),
        "not found": reseller_client.get("/nowhere"),
        "csrf error": reseller_client.post("/companies", csrf=False, data={"name": "X"}),
        "method not allowed": reseller_client.put("/companies"),
    }
    for name, resp in answers.items():
        assert frame_ancestors(resp) == "'none'", name
        assert resp.headers["X-Frame-Options"] == "DENY", name


def test_first_party_session_cookie_is_not_samesite_none(client, auth, ew):
    resp = auth.login(ew.a.staff.email)
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("session="))
    assert "SameSite=Lax" in cookie and "HttpOnly" in cookie and "Partitioned" not in cookie
    assert embed_session.COOKIE not in resp.headers.get("Set-Cookie", "")


def test_csp_embed_responses_allow_exactly_the_partner_origins(app, client, ew):
    ew.a.reseller.embed_origins = f"{PARTNER}\nhttp://localhost:8000"
    db.session.commit()
    ec = header_client(app, client, ew.a.staff)
    for url in ("/companies", "/rooms", f"/companies/{ew.a.company.id}/edit"):
        resp = ec.get(url)
        assert resp.status_code == 200, url
        assert frame_ancestors(resp) == f"{PARTNER} http://localhost:8000", url
        assert "X-Frame-Options" not in resp.headers
    assert frame_ancestors(ec.get("/companies", htmx=True)) == f"{PARTNER} http://localhost:8000"


def test_csp_embed_without_origins_denies_framing(app, client, ew):
    ew.a.reseller.embed_origins = ""
    db.session.commit()
    resp = header_client(app, client, ew.a.staff).get("/companies")
    assert resp.status_code == 200
    assert frame_ancestors(resp) == "'none'" and resp.headers["X-Frame-Options"] == "DENY"


def test_csp_never_carries_a_malformed_origin(app, client, ew):
    """Origins are validated on input (models.clean_origins); the header re-checks what the database holds."""
    ew.a.reseller.embed_origins = f"{PARTNER}\nhttps://x.example;script-src\n*\nhttp://evil.example\nhttps://*.example"
    db.session.commit()
    resp = header_client(app, client, ew.a.staff).get("/companies")
    assert frame_ancestors(resp) == PARTNER
    assert "script-src 'self' 'nonce-" in csp(resp) and csp(resp).count("script-src") == 1


def test_csp_reopen_shell_is_framed_by_the_reseller(client, ew):
    resp = client.get(f"/embed/{ew.a.reseller.id}/open", query_string={"path": "/companies?q=a"})
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and 'data-embed-path="/companies?q=a"' in text
    assert frame_ancestors(resp) == PARTNER and "X-Frame-Options" not in resp.headers
    assert "Set-Cookie" not in resp.headers and "A Corp" not in text and 'data-session=""' in text


@pytest.mark.parametrize("path", ["", "https://evil.example/", "//evil.example", "/login", "/nowhere"])
def test_reopen_bad_path_is_404(client, ew, path):
    assert client.get(f"/embed/{ew.a.reseller.id}/open", query_string={"path": path}).status_code == 404


def test_reopen_unknown_reseller_is_404(client, ew):
    assert client.get("/embed/999999/open", query_string={"path": "/companies"}).status_code == 404


# --------------------------------------------------------------------------- the session: header and cookie


def test_header_session_get_shows_embed_layout(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    resp = ec.get("/companies")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "A Corp" in text and "B Corp" not in text
    assert 'class="embed"' in text and 'hx-boost="true"' in text
    assert f'"X-Embed-Session": "{ec.token}"' in text and 'id="embed-state"' in text
    assert "Log out" not in text and ">Reseller Portal<" not in text and ew.a.reseller.name in text
    assert "Set-Cookie" not in resp.headers  # nothing to store: the header carries the session
    frag = ec.get("/companies?q=A", htmx=True)
    assert frag.status_code == 200 and "<html" not in frag.text and 'id="company-table"' in frag.text


def test_header_session_htmx_post_with_csrf(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    ec.get("/companies")
    resp = ec.post("/companies", htmx=True, data={"name": "Framed Co", "type": "Business", "status": "customer"})
    assert resp.status_code == 200 and "companies-changed" in resp.headers["HX-Trigger"]
    company = db.session.execute(db.select(Company).where(Company.name == "Framed Co")).scalar_one()
    assert company.reseller_id == ew.a.reseller.id


def test_header_session_post_without_csrf_is_refused(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    resp = ec.post("/companies", htmx=True, csrf=False, data={"name": "No Token Co", "type": "Business",
                                                               "status": "customer"})
    assert resp.status_code == 400
    assert db.session.execute(db.select(Company).where(Company.name == "No Token Co")).first() is None


def test_header_session_csrf_token_of_another_session_is_refused(app, client, ew):
    one = header_client(app, client, ew.a.staff)
    one.get("/companies")
    two = header_client(app, app.test_client(), ew.a.staff)
    two.csrf = one.csrf
    resp = two.post("/companies", htmx=True, data={"name": "Crossed Co", "type": "Business", "status": "customer"})
    assert resp.status_code == 400


def test_header_session_cannot_see_other_reseller(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    for url in (f"/companies/{ew.b.company.id}/edit", f"/rooms/{ew.b.team.id}/edit"):
        assert ec.get(url).status_code == 404, url
        assert ec.get(url, htmx=True).status_code == 404, url
    resp = ec.post(f"/rooms/{ew.b.team.id}/link", htmx=True, data={"contact_id": ew.b.contacts[1].id})
    assert resp.status_code == 404


def test_cookie_session_works_without_header(client, ew):
    sign_in(client, ew.a.staff)
    resp = client.get("/companies")
    assert resp.status_code == 200 and "A Corp" in resp.text and 'class="embed"' in resp.text
    assert frame_ancestors(resp) == PARTNER


def test_embed_cookie_counts_only_inside_a_frame(reseller_client, ew):
    """A browser that does not partition the cookie still keeps its first-party session at the top level."""
    sign_in(reseller_client, ew.a.contacts[0])  # the embed cookie of a host, beside the staff's own session
    top = reseller_client.get("/companies", headers={"Sec-Fetch-Dest": "document"})
    assert top.status_code == 200 and 'class="embed"' not in top.text and "Log out" in top.text
    framed = reseller_client.get("/my-rooms", headers={"Sec-Fetch-Dest": "iframe"})
    assert framed.status_code == 200 and 'class="embed"' in framed.text and ew.a.contacts[0].name in framed.text


def test_header_wins_over_cookie(app, client, ew):
    sign_in(client, ew.a.staff)
    host_session = session_of(sign_in(app.test_client(), ew.a.contacts[0]))
    resp = client.get("/my-rooms", headers={embed_session.HEADER: host_session})
    assert resp.status_code == 200 and ew.a.contacts[0].name in resp.text


def test_boosted_navigation_replaces_the_page(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    resp = ec.get(f"/rooms/{ew.a.team.id}/edit", htmx=True, headers={"HX-Boosted": "true"})
    assert resp.status_code == 200 and "<html" in resp.text
    assert resp.headers["HX-Retarget"] == "body" and resp.headers["HX-Reswap"] == "innerHTML"


def test_embed_layout_uses_reseller_colour_and_logo(app, client, ew):
    ew.a.reseller.brand_color = "#aa3300"
    ew.a.reseller.logo_url = "https://cdn.partner-a.example/logo.png"
    db.session.commit()
    shell = sign_in(client, ew.a.staff)
    assert ":root { --brand: #aa3300; }" in shell.text
    text = EmbedClient(app, session_of(shell)).get("/companies").text
    assert 'data-brand="#aa3300"' in text
    assert '<img class="logo" src="https://cdn.partner-a.example/logo.png" alt="Reseller A">' in text


def test_hx_redirect_becomes_an_htmx_navigation(app, client, ew):
    """A full page load would carry no session header, so inside the frame it becomes HX-Location."""
    ec = header_client(app, client, ew.a.staff)
    ec.get(f"/rooms/{ew.a.team.id}/edit")
    resp = ec.post(f"/rooms/{ew.a.team.id}/delete", htmx=True,
                   headers={"HX-Current-URL": f"http://portal.test/rooms/{ew.a.team.id}/edit"})
    assert resp.status_code == 200 and "HX-Redirect" not in resp.headers
    assert json.loads(resp.headers["HX-Location"]) == {
        "path": "/rooms", "target": "body", "swap": "innerHTML", "headers": {"HX-Boosted": "true"}}


def test_normal_session_is_untouched_by_embed(reseller_client, ew):
    resp = reseller_client.get("/companies")
    assert 'class="embed"' not in resp.text and "X-Embed-Session" not in resp.text and "Log out" in resp.text


# --------------------------------------------------------------------------- a session that ended fails closed


def _assert_ended(resp):
    text = page_text(resp)
    assert resp.status_code == 401
    assert ENDED in text
    assert "Location" not in resp.headers and "HX-Redirect" not in resp.headers
    assert 'type="password"' not in text and "A Corp" not in text


@pytest.mark.parametrize("value", ["", "garbage", "x" * 2000])
def test_invalid_header_session_fails_closed(app, ew, value):
    ec = EmbedClient(app, value)
    _assert_ended(ec.get("/companies"))
    resp = ec.get("/companies", htmx=True)
    _assert_ended(resp)
    assert "<html" not in resp.text and resp.headers["HX-Retarget"] == "body"


def test_expired_header_session_fails_closed(app, ew):
    class OldSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - app.config["EMBED_SESSION_SECONDS"] - 10

    payload = {"c": ew.a.staff.id, "r": ew.a.reseller.id, "re": 0, "ce": ew.a.staff.session_epoch, "n": "ab" * 20}
    old = URLSafeTimedSerializer(app.secret_key, salt=embed_session.SESSION_SALT, signer=OldSigner).dumps(payload)
    resp = EmbedClient(app, old).get("/companies")
    _assert_ended(resp)
    assert frame_ancestors(resp) == PARTNER  # we signed it, so the partner may show the message


def test_forged_header_session_fails_closed(app, ew):
    payload = {"c": ew.a.staff.id, "r": ew.a.reseller.id, "re": 0, "ce": 0, "n": "ab" * 20}
    forged = URLSafeTimedSerializer("not-the-secret-key", salt=embed_session.SESSION_SALT).dumps(payload)
    resp = EmbedClient(app, forged).get("/companies")
    _assert_ended(resp)
    assert frame_ancestors(resp) == "'none'"


def test_ended_cookie_session_is_deleted(client, ew):
    sign_in(client, ew.a.staff)
    models.end_embed_sessions(ew.a.reseller)
    db.session.commit()
    resp = client.get("/companies")
    _assert_ended(resp)
    assert f"{embed_session.COOKIE}=;" in resp.headers["Set-Cookie"]
    assert client.get("/companies").status_code == 302  # the cookie is gone: a plain visitor again


def test_suspended_contact_loses_embed_session(app, client, ew):
    ec = header_client(app, client, ew.a.staff)
    staff = ew.a.staff
    models.update_contact(staff, {"first_name": staff.first_name, "last_name": staff.last_name, "email": staff.email,
                                  "state": "suspended"})
    db.session.commit()
    _assert_ended(ec.get("/companies"))


@pytest.mark.parametrize("url", ["/login", "/forgot"])
def test_no_login_form_inside_the_frame(app, client, ew, url):
    _assert_ended(header_client(app, client, ew.a.staff).get(url))


# --------------------------------------------------------------------------- settings: rotate, grace, end sessions


def test_settings_page_and_fragment(reseller_client, ew):
    full = reseller_client.get("/settings/embed")
    text = page_text(full)
    assert full.status_code == 200 and "<html" in text and 'id="embed-settings"' in text
    assert PARTNER in text and "24 hours" in text and "Rotate secret" in text and "End all embed sessions" in text
    assert ew.a.reseller.embed_secret not in text  # shown once, at creation or rotation, never again
    frag = reseller_client.get("/settings/embed", htmx=True)
    assert "<html" not in frag.text and 'id="embed-settings"' in frag.text


def test_settings_other_roles_get_404(app, client, auth, ew):
    assert client.get("/settings/embed").status_code == 302  # log in first
    auth.login(ew.a.contacts[0].email)
    assert client.get("/settings/embed").status_code == 404
    assert client.post("/settings/embed/rotate").status_code == 404
    admin = app.test_client()
    AuthActions(admin).login(factories.admin().email)
    assert admin.get("/settings/embed").status_code == 404
    assert admin.post("/settings/embed/end-sessions").status_code == 404


def test_rotate_shows_new_secret_once_and_audits(reseller_client, ew):
    reseller = ew.a.reseller
    old = reseller.embed_secret
    resp = reseller_client.post("/settings/embed/rotate", htmx=True)
    assert resp.status_code == 200 and "toast" in resp.headers["HX-Trigger"]
    db.session.refresh(reseller)
    assert reseller.embed_secret != old and reseller.embed_secret_previous == old
    assert reseller.embed_secret in resp.text and "<html" not in resp.text
    assert "previous secret is accepted until" in page_text(resp)
    assert reseller.embed_secret not in reseller_client.get("/settings/embed").text
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "rotate_embed_secret")).scalar_one()
    assert event.reseller_id == reseller.id and event.actor_id == ew.a.staff.id
    assert old not in event.changes and reseller.embed_secret not in event.changes


def test_rotate_plain_form_shows_the_secret_in_the_page(reseller_client, ew):
    resp = reseller_client.post("/settings/embed/rotate")
    db.session.refresh(ew.a.reseller)
    assert resp.status_code == 200 and "<html" in resp.text and ew.a.reseller.embed_secret in resp.text


def test_rotation_grace_period(app, reseller_client, ew):
    client = app.test_client()
    reseller = ew.a.reseller
    old = reseller.embed_secret
    reseller_client.post("/settings/embed/rotate", htmx=True)
    db.session.refresh(reseller)
    new = reseller.embed_secret
    # within the grace period both secrets sign in
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=old)}).status_code == 200
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=new)}).status_code == 200
    # after it, only the new one
    reseller.embed_secret_rotated_at = models.utcnow() - timedelta(seconds=app.config["EMBED_SECRET_GRACE_SECONDS"] + 1)
    db.session.commit()
    late_client = app.test_client()
    late = late_client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=old)})
    assert late.status_code == 401 and "Set-Cookie" not in late.headers
    assert_not_signed_in(late_client)
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=new)}).status_code == 200
    assert "previous secret is accepted" not in page_text(reseller_client.get("/settings/embed"))


def test_rotating_twice_drops_the_oldest_secret(app, reseller_client, ew):
    client = app.test_client()
    first = ew.a.reseller.embed_secret
    reseller_client.post("/settings/embed/rotate", htmx=True)
    reseller_client.post("/settings/embed/rotate", htmx=True)
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=first)}).status_code == 401


def test_drop_previous_secret_stops_it_at_once(app, reseller_client, ew):
    reseller = ew.a.reseller
    old = reseller.embed_secret
    reseller_client.post("/settings/embed/rotate", htmx=True)
    assert "Stop the previous secret now" in reseller_client.get("/settings/embed").text
    resp = reseller_client.post("/settings/embed/drop-previous", htmx=True)
    assert resp.status_code == 200 and "no longer works" in resp.headers["HX-Trigger"]
    assert "<html" not in resp.text and 'id="embed-settings"' in resp.text
    assert "previous secret is accepted" not in page_text(resp) and "Stop the previous secret now" not in resp.text
    db.session.refresh(reseller)
    assert reseller.embed_secret_previous is None
    client = app.test_client()
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff, secret=old)}).status_code == 401
    assert_not_signed_in(client)
    assert client.get("/embed/sso", query_string={"token": make_token(ew.a.staff)}).status_code == 200
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "drop_previous_embed_secret")
                               ).scalar_one()
    assert event.reseller_id == reseller.id and old not in event.changes


def test_drop_previous_secret_without_one_is_409(reseller_client, ew):
    resp = reseller_client.post("/settings/embed/drop-previous", htmx=True)
    assert resp.status_code == 409 and "no previous embed secret" in resp.text


def test_drop_previous_secret_other_reseller_and_roles(app, other_client, auth, client, ew):
    models.rotate_embed_secret(ew.a.reseller)
    db.session.commit()
    other_client.post("/settings/embed/drop-previous", htmx=True)  # acts on B's reseller, never on A's
    db.session.refresh(ew.a.reseller)
    assert ew.a.reseller.embed_secret_previous is not None
    auth.login(ew.a.contacts[0].email)
    assert client.post("/settings/embed/drop-previous").status_code == 404
    assert client.post("/settings/embed/drop-previous", csrf=False).status_code == 400


def test_settings_writes_are_refused_inside_the_frame(app, client, ew):
    """Whoever holds the signing secret can open an embed session as the staff user; that session must not
    rotate the secret (and learn the next one), keep the previous one alive or end sessions."""
    reseller = ew.a.reseller
    models.rotate_embed_secret(reseller)
    db.session.commit()
    before = (reseller.embed_secret, reseller.embed_secret_previous, reseller.embed_epoch)
    ec = header_client(app, client, ew.a.staff)
    page = ec.get("/settings/embed")
    assert page.status_code == 200 and "open the portal directly" in page_text(page)
    assert "Rotate secret</button>" not in page.text and "End all embed sessions</button>" not in page.text
    assert "Stop the previous secret now" not in page.text
    for url in ("/settings/embed/rotate", "/settings/embed/drop-previous", "/settings/embed/end-sessions"):
        resp = ec.post(url, htmx=True)
        assert resp.status_code == 403, url
        assert reseller.embed_secret not in resp.text
    db.session.refresh(reseller)
    assert (reseller.embed_secret, reseller.embed_secret_previous, reseller.embed_epoch) == before
    assert ec.get("/companies").status_code == 200  # the session itself goes on


def test_end_all_embed_sessions(app, reseller_client, ew):
    a_session = header_client(app, app.test_client(), ew.a.contacts[0])
    b_session = header_client(app, app.test_client(), ew.b.staff)
    assert a_session.get("/my-rooms").status_code == 200
    resp = reseller_client.post("/settings/embed/end-sessions", htmx=True)
    assert resp.status_code == 200 and "Ended all embed sessions" in resp.headers["HX-Trigger"]
    _assert_ended(a_session.get("/my-rooms"))
    assert b_session.get("/companies").status_code == 200  # only reseller A's sessions ended
    assert reseller_client.get("/companies").status_code == 200  # the first-party session is not an embed session
    event = db.session.execute(db.select(AuditEvent).where(AuditEvent.action == "end_embed_sessions")).scalar_one()
    assert event.reseller_id == ew.a.reseller.id
    # a new sign-in from the partner site works again
    assert header_client(app, app.test_client(), ew.a.contacts[0]).get("/my-rooms").status_code == 200


def test_settings_writes_need_csrf(reseller_client, ew):
    resp = reseller_client.post("/settings/embed/end-sessions", htmx=True, csrf=False)
    assert resp.status_code == 400
    db.session.refresh(ew.a.reseller)
    assert ew.a.reseller.embed_epoch == 0


def test_settings_other_reseller_cannot_touch_a(other_client, ew):
    before = (ew.a.reseller.embed_secret, ew.a.reseller.embed_epoch)
    other_client.post("/settings/embed/rotate", htmx=True)
    other_client.post("/settings/embed/end-sessions", htmx=True)
    db.session.refresh(ew.a.reseller)
    assert (ew.a.reseller.embed_secret, ew.a.reseller.embed_epoch) == before
    assert PARTNER not in other_client.get("/settings/embed").text


# --------------------------------------------------------------------------- docs/embedding.md


def test_docs_python_signing_example_signs_in(app, client, ew):
    """The signing example in the partner contract, run as written (with this portal and A's secret)."""
    doc = (Path(__file__).resolve().parents[1] / "docs" / "embedding.md").read_text()
    code = re.search(r"### Signing in Python.*?```python\n(.*?)```", doc, re.S).group(1)
    namespace = {}
    exec(compile(code, "docs/embedding.md", "exec"), namespace)
    namespace["PORTAL"] = app.config["PUBLIC_URL"]
    namespace["EMBED_SECRET"] = ew.a.reseller.embed_secret
    url = namespace["portal_src"](ew.a.staff.email, "/rooms?q=team")
    assert url.startswith(f"{app.config['PUBLIC_URL']}/embed/sso?token=")
    resp = client.get(url.removeprefix(app.config["PUBLIC_URL"]))
    assert resp.status_code == 200 and 'data-embed-path="/rooms?q=team"' in resp.text
    assert client.get(url.removeprefix(app.config["PUBLIC_URL"])).status_code == 401  # single use


# --------------------------------------------------------------------------- command line


def test_cli_embed_token_prints_a_working_url(app, runner, client, ew):
    result = runner.invoke(args=["embed", "token", ew.a.staff.email, "--path", "/rooms"])
    assert result.exit_code == 0, result.output
    url = result.output.strip()
    assert url.startswith(f"{app.config['PUBLIC_URL']}/embed/sso?token=")
    resp = client.get(url.removeprefix(app.config["PUBLIC_URL"]))
    assert resp.status_code == 200 and 'data-embed-path="/rooms"' in resp.text


def test_cli_embed_token_unknown_email(runner, ew):
    result = runner.invoke(args=["embed", "token", "nobody@nowhere.example"])
    assert result.exit_code != 0 and "No contact" in result.output


def test_cli_embed_token_bad_path(runner, ew):
    result = runner.invoke(args=["embed", "token", ew.a.staff.email, "--path", "https://evil.example/"])
    assert result.exit_code != 0 and "not a portal page" in result.output
