"""Embed sessions: the session interface, and the signed token an embed session is.

An embed session is stateless, so app servers stay stateless: an itsdangerous-signed
token {contact, reseller, reseller.embed_epoch, contact.session_epoch, nonce}, valid for
EMBED_SESSION_SECONDS. It travels in the ``X-Embed-Session`` request header (htmx adds
it: body ``hx-headers`` plus static/embed.js, which keeps it in sessionStorage) and,
where the browser keeps third-party cookies, in the ``portal_embed`` cookie (Secure;
SameSite=None; Partitioned).

``EmbedSessionInterface`` (installed in ``create_app``) decides per request: embed
credentials present -> the session is built from them (read-only; the CSRF secret is the
token's nonce); otherwise Flask's usual first-party cookie session. Whether a
well-signed session is still live (its epochs, its contact) is checked on every request
by ``embed_frame.check_embed_session``.
"""
from __future__ import annotations

import secrets

from flask import current_app, g
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from models import Contact, Reseller

HEADER = "X-Embed-Session"
COOKIE = "portal_embed"
SESSION_SALT = "embed-session"
TOKEN_MAX = 1000
_PAYLOAD_INTS = ("c", "r", "re", "ce")  # contact, reseller, reseller.embed_epoch, contact.session_epoch


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

    def end(self) -> None:
        """This session is over: nothing is read from it, and its cookie is deleted."""
        self.problem = self.problem or "ended"


def _payload_ok(payload) -> bool:
    return (
        isinstance(payload, dict)
        and all(isinstance(payload.get(k), int) and not isinstance(payload.get(k), bool) for k in _PAYLOAD_INTS)
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
            sess = EmbedSession(problem="invalid") if len(token) > TOKEN_MAX else load_embed_session(app, token)
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
            if session.problem and session.from_cookie:
                response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="None",
                                       partitioned=True)
            return
        super().save_session(app, session, response)


def issue_session(contact: Contact, reseller: Reseller) -> str:
    """A new embed session for the contact. This response also offers it as the embed cookie."""
    payload = {"c": contact.id, "r": reseller.id, "re": reseller.embed_epoch, "ce": contact.session_epoch,
               "n": secrets.token_hex(20)}
    token = _serializer(current_app).dumps(payload)
    g.embed_issued = token
    return token
