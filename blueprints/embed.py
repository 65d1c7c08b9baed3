"""The portal inside a reseller's partner site (SPEC §4). The contract for partners is docs/embedding.md.

Signed sign-in
    ``GET /embed/sso?token=…``: a JWT (HS256) signed by the partner's server with
    the reseller's embed secret. The reseller is the one the ``sub`` user (an
    email, unique in the whole system) belongs to, so the token needs no extra
    claim to name it; a token signed with any other reseller's secret fails the
    signature check. ``exp`` is required and at most EMBED_TOKEN_MAX_SECONDS
    ahead; ``jti`` is single use (an EmbedTokenUse row until ``exp``, inserted in
    the sign-in transaction, so a replay hits the primary key); ``path`` is an
    optional portal path; ``iat`` and ``nbf``, when present, must be numbers not
    in the future. After a rotation the previous secret is accepted for
    EMBED_SECRET_GRACE_SECONDS (or until "Stop the previous secret now"). Secret
    and session management needs a first-party session, never an embed one.

Embed sessions (stateless, so app servers stay stateless)
    An embed session is an itsdangerous-signed token {contact, reseller,
    reseller.embed_epoch, contact.session_epoch, nonce}, valid for
    EMBED_SESSION_SECONDS. It travels in the ``X-Embed-Session`` request header
    (htmx adds it: body ``hx-headers`` plus static/embed.js, which keeps it in
    sessionStorage) and, where the browser keeps third-party cookies, in the
    ``portal_embed`` cookie (Secure; SameSite=None; Partitioned). The session
    interface below decides per request: embed credentials present -> the
    session is built from them (read-only; the CSRF secret is the token's
    nonce); otherwise Flask's usual first-party cookie session.
    Bumping reseller.embed_epoch ends every embed session of that reseller;
    bumping contact.session_epoch (suspend, new password) ends that person's.
    A request that carries embed credentials (even an empty header) never
    falls back to the login page: an invalid or ended session answers 401 with
    "Your session has ended. Open it again from your partner site."

Framing
    Embed responses set ``g.frame_ancestors`` to the reseller's origins; the one
    ``after_request`` hook in app.py turns it into ``Content-Security-Policy:
    frame-ancestors …`` (and sends ``X-Frame-Options: DENY`` on every other
    response).

Inside the frame every navigation goes through htmx (hx-boost on the embed
layout's body). The frame's address is kept at ``/embed/<reseller>/open?path=…``
(a page without data that re-opens ``path`` with the session from
sessionStorage), so a reload inside the frame stays signed in even when the
browser stores no cookie.
"""
from __future__ import annotations

import json
import math
import re
import secrets
import time
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import click
import jwt
from flask import Blueprint, abort, current_app, g, make_response, render_template, request, session, url_for
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from flask_login import current_user, login_required
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from jinja2_fragments.flask import render_block
from sqlalchemy import select
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

import models
from extensions import db
from models import Contact, Reseller, RuleError
from permissions import can, is_manager
from web import is_htmx, render

bp = Blueprint("embed", __name__, cli_group="embed")

HEADER = "X-Embed-Session"
COOKIE = "portal_embed"
SESSION_SALT = "embed-session"
# A partner's clock may run this much ahead of ours when it sets exp.
CLOCK_SKEW_SECONDS = 30
JTI_MAX = 128
PATH_MAX = 500
# Never shown inside the frame: no password form, no log-in or log-out page.
NOT_IN_FRAME = {"auth.login", "auth.login_post", "auth.logout", "account.set_password", "account.forgot"}
# Pages that work without a live embed session (they carry none, or start one).
NO_SESSION_NEEDED = {"static", "embed.sso", "embed.reopen"}
EMBED_G_KEYS = ("embed", "embed_reseller", "embed_token", "embed_issued", "frame_ancestors")

ENDED = "Your session has ended. Open it again from your partner site."
INVALID = "This sign-in link is not valid. Open the portal again from your partner site."
EXPIRED = "This sign-in link has expired. Open the portal again from your partner site."
USED = "This sign-in link was already used. Open the portal again from your partner site."
SUSPENDED = "This account is suspended. Ask your reseller to reactivate it."

_FRAMEABLE = re.compile(r"^(https://[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|http://(?:localhost|127\.0\.0\.1))(?::[0-9]{1,5})?$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _now() -> float:
    return time.time()


def frame_origins(reseller: Reseller | None) -> list[str]:
    """The reseller's allowed partner origins, each re-checked so nothing else can reach the CSP header."""
    if reseller is None:
        return []
    return [o for o in reseller.origins if _FRAMEABLE.match(o)]


def allow_framing(reseller: Reseller | None) -> None:
    """Let this response be framed by the reseller's partner origins (none listed: by no one)."""
    origins = frame_origins(reseller)
    if origins:
        g.frame_ancestors = " ".join(origins)
    else:
        g.pop("frame_ancestors", None)


def brand_color(reseller: Reseller) -> str:
    return reseller.brand_color if reseller.brand_color and _COLOR.match(reseller.brand_color) else "#2f6fde"


def logo_url(reseller: Reseller) -> str | None:
    url = reseller.logo_url or ""
    return url if url.startswith("https://") else None


def _reseller(reseller_id) -> Reseller | None:
    if not isinstance(reseller_id, int):
        return None
    return db.session.execute(select(Reseller).where(Reseller.id == reseller_id)).scalar_one_or_none()


# --------------------------------------------------------------------------- session interface


def _serializer(app) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(app.secret_key, salt=SESSION_SALT)


class EmbedSession(SecureCookieSession):
    """A session read from embed credentials. Changes to it are not kept (it is a signed token)."""

    def __init__(self, initial=None, token: str | None = None, payload: dict | None = None,
                 problem: str | None = None):
        super().__init__(initial)
        self.from_cookie = False  # the embed cookie (not the header) carried it
        self.token = token
        self.payload = payload  # from a token whose signature we checked (also when it has expired)
        self.problem = problem  # None | "missing" | "invalid" | "expired" | "ended"


def _payload_ok(payload) -> bool:
    return (
        isinstance(payload, dict)
        and all(isinstance(payload.get(k), int) and not isinstance(payload.get(k), bool) for k in ("c", "r", "re", "ce"))
        and isinstance(payload.get("n"), str)
    )


def load_embed_session(app, token: str) -> EmbedSession:
    s = _serializer(app)
    try:
        payload = s.loads(token, max_age=app.config["EMBED_SESSION_SECONDS"])
    except SignatureExpired as err:
        try:
            payload = s.load_payload(err.payload) if err.payload is not None else None
        except BadSignature:
            payload = None
        return EmbedSession(payload=payload if _payload_ok(payload) else None, problem="expired")
    except BadSignature:
        return EmbedSession(problem="invalid")
    if not _payload_ok(payload):
        return EmbedSession(problem="invalid")
    data = {"_user_id": f"{payload['c']}:{payload['ce']}", "_fresh": False, "csrf_token": payload["n"]}
    return EmbedSession(data, token=token, payload=payload)


def _cookie_counts(request) -> bool:
    """The embed cookie alone counts inside a frame, not on a top-level visit to the portal.

    Browsers that partition it (CHIPS) never send it at the top level anyway; for one that does not,
    a top-level page (Sec-Fetch-Dest: document) or its own htmx requests (no X-Embed-Session header,
    Sec-Fetch-Dest: empty) keep the person's first-party session.
    """
    return request.headers.get("Sec-Fetch-Dest", "iframe") == "iframe"


class EmbedSessionInterface(SecureCookieSessionInterface):
    """Per request: embed credentials (header, else the embed cookie) or the usual first-party cookie."""

    def open_session(self, app, request):
        if HEADER in request.headers or (COOKIE in request.cookies and _cookie_counts(request)):
            token = request.headers.get(HEADER) or request.cookies.get(COOKIE)
            if not token:
                return EmbedSession(problem="missing")
            sess = EmbedSession(problem="invalid") if len(token) > 1000 else load_embed_session(app, token)
            sess.from_cookie = not request.headers.get(HEADER)
            return sess
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        issued = g.get("embed_issued")
        if issued:  # a sign-in from /embed/sso: the cookie for browsers that keep third-party cookies
            response.set_cookie(COOKIE, issued, max_age=app.config["EMBED_SESSION_SECONDS"], path="/",
                                secure=True, httponly=True, samesite="None", partitioned=True)
            return
        if isinstance(session, EmbedSession):
            if session.problem and session.from_cookie and COOKIE in request.cookies:
                response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="None",
                                       partitioned=True)
            return
        super().save_session(app, session, response)


def issue_session(contact: Contact, reseller: Reseller) -> str:
    payload = {"c": contact.id, "r": reseller.id, "re": reseller.embed_epoch, "ce": contact.session_epoch,
               "n": secrets.token_hex(20)}
    return _serializer(current_app).dumps(payload)


# --------------------------------------------------------------------------- every request


@bp.record_once
def _install(state) -> None:
    state.app.session_interface = EmbedSessionInterface()


def _ended(sess: EmbedSession):
    """Fail closed: no data, 401, and the way back. Framed by the reseller only if we signed the session."""
    sess.problem = sess.problem or "ended"
    g.setdefault("csp_nonce", secrets.token_urlsafe(16))
    if sess.payload:
        allow_framing(_reseller(sess.payload["r"]))
    ctx = {"message": ENDED}
    if is_htmx():
        resp = make_response(render_block("embed/ended.html", "embed_ended", **ctx), 401)
        resp.headers["HX-Retarget"] = "body"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    return make_response(render_template("embed/ended.html", **ctx), 401)


@bp.before_app_request
def embed_mode():
    """Check an embed session before anything else sees it; set embed mode for the layout and framing."""
    for key in EMBED_G_KEYS:  # g outlives a request where tests share one app context
        g.pop(key, None)
    sess = session._get_current_object()
    if not isinstance(sess, EmbedSession) or request.endpoint in NO_SESSION_NEEDED:
        return None
    if sess.problem:
        return _ended(sess)
    payload = sess.payload
    reseller = _reseller(payload["r"])
    user = current_user._get_current_object()
    if (
        reseller is None
        or reseller.embed_epoch != payload["re"]
        or not user.is_authenticated
        or user.id != payload["c"]
        or user.reseller_id != reseller.id
        or user.state != "live"
        or request.endpoint in NOT_IN_FRAME
    ):
        return _ended(sess)
    g.embed = True
    g.embed_reseller = reseller
    g.embed_token = sess.token
    allow_framing(reseller)
    return None


@bp.after_app_request
def navigate_inside_the_frame(resp):
    """Inside the frame every navigation stays an htmx request that carries the session.

    A boosted navigation replaces the page, whatever hx-target its link inherits; an HX-Redirect
    (a full page load, which would carry no header) becomes the same navigation through htmx.
    """
    if not g.get("embed"):
        return resp
    target = resp.headers.pop("HX-Redirect", None)
    if target is not None:
        resp.headers["HX-Location"] = json.dumps(
            {"path": target, "target": "body", "swap": "innerHTML", "headers": {"HX-Boosted": "true"}})
    elif (
        request.headers.get("HX-Boosted") == "true"
        and "HX-Retarget" not in resp.headers
        and resp.mimetype == "text/html"
        and resp.status_code != 204
    ):
        resp.headers["HX-Retarget"] = "body"
        resp.headers["HX-Reswap"] = "innerHTML"
    return resp


@bp.app_context_processor
def embed_context():
    if not g.get("embed"):
        return {"embed_ctx": None}
    reseller = g.embed_reseller
    return {"embed_ctx": _state(reseller, g.embed_token)}


def _state(reseller: Reseller, token: str | None) -> dict:
    return {
        "session": token or "",
        "reseller_name": reseller.name,
        "brand": brand_color(reseller),
        "logo": logo_url(reseller),
        "origins": frame_origins(reseller),
        "open_url": url_for("embed.reopen", reseller_id=reseller.id),
    }


# --------------------------------------------------------------------------- sign-in tokens


class TokenProblem(Exception):
    def __init__(self, status: int, message: str, reseller: Reseller | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.reseller = reseller  # set once the signature is proven: the problem page may be framed by it


def accepted_secrets(reseller: Reseller) -> list[str]:
    """The current secret, and the previous one during the grace period after a rotation."""
    keys = [reseller.embed_secret]
    rotated = reseller.embed_secret_rotated_at
    grace = current_app.config["EMBED_SECRET_GRACE_SECONDS"]
    if reseller.embed_secret_previous and rotated is not None:
        age = (models.utcnow() - rotated).total_seconds()
        if age <= grace:
            keys.append(reseller.embed_secret_previous)
    return keys


def portal_path(value) -> str | None:
    """A path of a portal page a person can open, like /companies?q=acme; None for anything else."""
    if not isinstance(value, str) or not value.startswith("/") or value.startswith("//") or len(value) > PATH_MAX:
        return None
    if "\\" in value or any(ord(c) < 33 or ord(c) == 127 for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.fragment:
        return None
    try:
        endpoint, _args = current_app.url_map.bind("portal.invalid").match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return None
    if endpoint == "static" or endpoint in NOT_IN_FRAME or endpoint.startswith("embed."):
        return None
    return value


def default_path(contact: Contact) -> str:
    return url_for("companies.index") if is_manager(contact) else url_for("dashboard.index")


def _find_contact(email) -> Contact | None:
    if not isinstance(email, str) or not email.strip() or len(email) > 254 or "\x00" in email:
        return None  # (PostgreSQL refuses a NUL in a query parameter; no email holds one)
    return db.session.execute(
        select(Contact).where(Contact.email == email.strip().lower(), Contact.reseller_id.is_not(None))
        .execution_options(unscoped=True)
    ).scalar_one_or_none()


def _seconds(value) -> bool:
    """A NumericDate claim: a finite number of seconds (JSON allows NaN and Infinity in PyJWT's parser)."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def verify_token(token: str) -> tuple[Contact, Reseller, dict]:
    """The contact a sign-in token is for, or TokenProblem. Records the jti (the caller commits)."""
    if not token or len(token) > 4096:
        raise TokenProblem(401, INVALID)
    try:
        header = jwt.get_unverified_header(token)
        unverified = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise TokenProblem(401, INVALID)
    if header.get("alg") != "HS256":
        raise TokenProblem(401, INVALID)
    contact = _find_contact(unverified.get("sub"))
    reseller = contact.reseller if contact is not None else None
    # An unknown sub still costs one HMAC, and answers exactly like a bad signature.
    keys = accepted_secrets(reseller) if reseller is not None else [secrets.token_urlsafe(32)]
    claims = None
    for key in keys:
        try:
            claims = jwt.decode(token, key, algorithms=["HS256"],
                                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False,
                                         "verify_aud": False, "verify_iss": False})
            break
        except jwt.InvalidSignatureError:
            continue
        except jwt.PyJWTError:
            raise TokenProblem(401, INVALID)
    if claims is None or contact is None:
        raise TokenProblem(401, INVALID)
    # From here the reseller's partner signed it: its own pages may frame the answer.
    exp = claims.get("exp")
    if not _seconds(exp):
        raise TokenProblem(401, "This sign-in link is not valid: it needs an exp (expiry time).", reseller)
    now = _now()
    if exp <= now:
        raise TokenProblem(401, EXPIRED, reseller)
    for name in ("nbf", "iat"):  # optional, but honoured when present
        value = claims.get(name)
        if value is not None and not _seconds(value):
            raise TokenProblem(401, f"This sign-in link is not valid: its {name} is not a time.", reseller)
        if value is not None and value > now + CLOCK_SKEW_SECONDS:
            raise TokenProblem(401, f"This sign-in link is not valid yet: its {name} is in the future.", reseller)
    limit = current_app.config["EMBED_TOKEN_MAX_SECONDS"]
    if exp > now + limit + CLOCK_SKEW_SECONDS:
        raise TokenProblem(
            401, f"This sign-in link is not valid: it may be valid for at most {limit // 60} minutes.", reseller
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > JTI_MAX or "\x00" in jti:
        raise TokenProblem(401, f"This sign-in link is not valid: it needs a jti of 1 to {JTI_MAX} characters.",
                           reseller)
    path = claims.get("path")
    if path is not None and portal_path(path) is None:
        raise TokenProblem(403, "This sign-in link asks for a page the portal cannot open.", reseller)
    if contact.state != "live":
        raise TokenProblem(403, SUSPENDED, reseller)
    expires_at = datetime.fromtimestamp(int(exp) + 1, timezone.utc).replace(tzinfo=None)
    try:
        models.use_embed_token(reseller, jti, expires_at)
    except RuleError:
        raise TokenProblem(401, USED, reseller)
    return contact, reseller, claims


def sign_token(contact: Contact, path: str | None = None, seconds: int | None = None) -> str:
    """A sign-in token for the contact, signed like a partner's server does (CLI and tests)."""
    seconds = seconds if seconds is not None else current_app.config["EMBED_TOKEN_MAX_SECONDS"]
    claims = {"sub": contact.email, "exp": int(_now()) + seconds, "jti": secrets.token_urlsafe(16)}
    if path:
        claims["path"] = path
    return jwt.encode(claims, contact.reseller.embed_secret, algorithm="HS256")


def sso_url(token: str) -> str:
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}{url_for('embed.sso')}?{urlencode({'token': token})}"


# --------------------------------------------------------------------------- views


@bp.get("/embed/sso")
def sso():
    g.setdefault("csp_nonce", secrets.token_urlsafe(16))
    try:
        contact, reseller, claims = verify_token(request.args.get("token", ""))
    except TokenProblem as problem:
        db.session.rollback()
        sess = session._get_current_object()
        if isinstance(sess, EmbedSession):
            sess.problem = sess.problem or "ended"  # a failed sign-in also ends an older embed session here
        allow_framing(problem.reseller)
        return make_response(render_template("embed/problem.html", message=problem.message), problem.status)
    db.session.commit()
    token = issue_session(contact, reseller)
    g.embed_issued = token
    allow_framing(reseller)
    path = claims.get("path") or default_path(contact)
    return render_template("embed/shell.html", state=_state(reseller, token), path=path)


@bp.get("/embed/<int:reseller_id>/open")
def reopen(reseller_id):
    """The frame's address: opens ``path`` again with the session kept in the frame (no data of its own)."""
    reseller = _reseller(reseller_id)
    path = portal_path(request.args.get("path"))
    if reseller is None or path is None:
        abort(404)
    allow_framing(reseller)
    return render_template("embed/shell.html", state=_state(reseller, None), path=path)


# --------------------------------------------------------------------------- settings: secret and sessions


def _own_reseller(write: bool = False) -> Reseller:
    """The signed-in reseller user's reseller. Writes need a first-party session, never an embed one:
    whoever holds the signing secret can open an embed session as any user, and must not be able to
    use it to rotate the secret (and learn the new one) or keep the previous one alive."""
    if not (current_user.has_role("reseller") and current_user.reseller_id is not None):
        abort(404)
    reseller = current_user.reseller
    if reseller is None or not can(current_user, "reseller_settings", reseller):
        abort(404)
    if write and g.get("embed"):
        abort(403)
    return reseller


def _settings_ctx(reseller: Reseller, **extra) -> dict:
    keys = accepted_secrets(reseller)
    previous_until = None
    if len(keys) > 1:
        from datetime import timedelta

        previous_until = reseller.embed_secret_rotated_at + timedelta(
            seconds=current_app.config["EMBED_SECRET_GRACE_SECONDS"])
    ctx = {
        "reseller": reseller,
        "origins": frame_origins(reseller),
        "grace_hours": current_app.config["EMBED_SECRET_GRACE_SECONDS"] / 3600,
        "previous_until": previous_until,
        "new_secret": None,
        "message": None,
        "sso_path": url_for("embed.sso"),
        "in_frame": bool(g.get("embed")),
    }
    ctx.update(extra)
    return ctx


@bp.get("/settings/embed")
@login_required
def settings():
    reseller = _own_reseller()
    return render("embed/settings.html", "embed_settings", **_settings_ctx(reseller))


def _settings_answer(reseller: Reseller, message: str, **extra):
    resp = render("embed/settings.html", "embed_settings", **_settings_ctx(reseller, message=message, **extra))
    if is_htmx():
        resp.headers["HX-Trigger"] = json.dumps({"toast": message})
    return resp


@bp.post("/settings/embed/rotate")
@login_required
def rotate():
    """A new secret, shown once in this answer; the previous one keeps working for the grace period."""
    reseller = _own_reseller(write=True)
    secret = models.rotate_embed_secret(reseller)
    db.session.commit()
    return _settings_answer(reseller, "Rotated the embed secret. Copy the new secret now: it is shown only once.",
                            new_secret=secret)


@bp.post("/settings/embed/drop-previous")
@login_required
def drop_previous():
    """Stop accepting the previous secret before the grace period ends (it leaked, or the server is updated)."""
    reseller = _own_reseller(write=True)
    models.drop_previous_embed_secret(reseller)
    db.session.commit()
    return _settings_answer(reseller, "The previous embed secret no longer works. Only the current secret signs in.")


@bp.post("/settings/embed/end-sessions")
@login_required
def end_sessions():
    reseller = _own_reseller(write=True)
    models.end_embed_sessions(reseller)
    db.session.commit()
    return _settings_answer(reseller, f"Ended all embed sessions of {reseller.name}.")


# --------------------------------------------------------------------------- command line


@bp.cli.command("token")
@click.argument("email")
@click.option("--path", help="The portal page to open, like /rooms (default: Companies or My rooms).")
def token_command(email, path):
    """Print a signed /embed/sso URL for EMAIL, valid for the maximum token lifetime (for testing)."""
    contact = _find_contact(email)
    if contact is None:
        raise click.ClickException(f"No contact of a reseller has the email {email}.")
    if path is not None and portal_path(path) is None:
        raise click.ClickException(f"{path} is not a portal page (give a path like /companies).")
    with current_app.test_request_context():
        click.echo(sso_url(sign_token(contact, path)))
