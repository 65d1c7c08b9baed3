"""Embed mode: what a request inside a reseller's partner frame gets.

- ``check_embed_session`` (before each request) checks an embed session against the
  database: bumping reseller.embed_epoch ends every embed session of that reseller;
  bumping contact.session_epoch (suspend, new password) ends that person's. A request
  that carries embed credentials (even an empty header) never falls back to the login
  page: an invalid or ended session answers 401 with ``ENDED``. A live one turns on embed
  mode (``g.embed``) for the layout.
- Framing: embed responses set ``g.frame_ancestors`` to the reseller's origins; the
  ``security_headers`` hook in app.py turns it into ``Content-Security-Policy:
  frame-ancestors …`` (and sends ``X-Frame-Options: DENY`` on every other response).
- ``navigate_inside_the_frame`` (after each request) keeps every navigation an htmx
  request that carries the session; ``embed_context`` gives the layout the reseller's
  name, colour, logo and the frame's state.
"""
from __future__ import annotations

import json
import re

from flask import g, make_response, render_template, request, session, url_for
from flask_login import current_user
from jinja2_fragments.flask import render_block
from sqlalchemy import select

from embed_session import EmbedSession
from extensions import db
from models import Contact, ContactState, Reseller, Role, RuleError, clean_email
from web import is_htmx

# Never shown inside the frame: no password form, no log-in or log-out page.
NOT_IN_FRAME = {"auth.login", "auth.login_post", "auth.logout", "account.set_password", "account.forgot"}
# Pages that work without a live embed session (they carry none, or start one).
NO_SESSION_NEEDED = {"static", "embed.sso", "embed.reopen"}

ENDED = "Your session has ended. Open it again from your partner site."
RESELLER_EMAIL = ("The email of a reseller user cannot be changed inside your partner site. "
                  "Open the portal directly and log in with your password to change it.")
DEFAULT_BRAND = "#2f6fde"

_FRAMEABLE = re.compile(r"^(https://[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?|http://(?:localhost|127\.0\.0\.1))(?::[0-9]{1,5})?$")
_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


def find_reseller(reseller_id) -> Reseller | None:
    if not isinstance(reseller_id, int):
        return None
    return db.session.execute(select(Reseller).where(Reseller.id == reseller_id)).scalar_one_or_none()


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
    return reseller.brand_color if reseller.brand_color and _COLOR.match(reseller.brand_color) else DEFAULT_BRAND


def logo_url(reseller: Reseller) -> str | None:
    url = reseller.logo_url or ""
    return url if url.startswith("https://") else None


def frame_state(reseller: Reseller, token: str | None) -> dict:
    """What static/embed.js reads from #embed-state: the session to send, the frame's address, the origins."""
    return {
        "session": token or "",
        "reseller_name": reseller.name,
        "brand": brand_color(reseller),
        "logo": logo_url(reseller),
        "origins": frame_origins(reseller),
        "open_url": url_for("embed.reopen", reseller_id=reseller.id),
    }


# --------------------------------------------------------------------------- request hooks (registered in app.py)


def _ended(sess: EmbedSession):
    """Fail closed: no data, 401, and the way back. Framed by the reseller only if we signed the session."""
    sess.end()
    if sess.payload:
        allow_framing(find_reseller(sess.payload["r"]))
    ctx = {"message": ENDED}
    if is_htmx():
        resp = make_response(render_block("embed/ended.html", "embed_ended", **ctx), 401)
        resp.headers["HX-Retarget"] = "body"
        resp.headers["HX-Reswap"] = "innerHTML"
        return resp
    return make_response(render_template("embed/ended.html", **ctx), 401)


def check_embed_session():
    """Check an embed session before the scope or any view reads it; set embed mode for the layout and framing."""
    sess = session._get_current_object()
    if not isinstance(sess, EmbedSession) or request.endpoint in NO_SESSION_NEEDED:
        return None
    if sess.problem:
        return _ended(sess)
    payload = sess.payload
    reseller = find_reseller(payload["r"])
    user = current_user._get_current_object()
    if (
        reseller is None
        or reseller.embed_epoch != payload["re"]
        or not user.is_authenticated
        or user.id != payload["c"]
        or user.reseller_id != reseller.id
        or user.state != ContactState.LIVE
        or request.endpoint in NOT_IN_FRAME
    ):
        return _ended(sess)
    g.embed = True
    g.embed_reseller = reseller
    g.embed_token = sess.token
    allow_framing(reseller)
    return None


def refuse_reseller_email_change(contact: Contact, form) -> None:
    """Inside the frame, a reseller user's email stays as it is (403).

    Whoever holds the embed secret can act as any reseller user in the frame. With a new email of
    their choosing, "Forgot your password?" would give them a first-party login with reseller
    rights (which can rotate the secret and lock the partner out). The same reason keeps the frame
    from adding reseller users (blueprints/resellers.py).
    """
    if not g.get("embed") or not contact.has_role(Role.RESELLER) or "email" not in form:
        return
    try:
        email = clean_email(form.get("email"))
    except RuleError:
        return  # not an email at all: the form answers 422 next to the field, and nothing changes
    if email != contact.email:
        raise RuleError(RESELLER_EMAIL, status=403)


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


def embed_context() -> dict:
    """Template context: the frame's state in embed mode, else None."""
    if not g.get("embed"):
        return {"embed_ctx": None}
    return {"embed_ctx": frame_state(g.embed_reseller, g.embed_token)}
