"""First-party sign-in sessions: when they start, run out and end. The domain side is models/sessions.py.

The session is Flask's signed cookie. At log-in it gets a random id (``_sid``), the time it was
issued (``_born``) and the time it was last used (``_seen``, refreshed at most once a minute so
that not every answer re-sends the cookie). On every request, ``check_login_session`` ends it
when it has been idle longer than SESSION_IDLE_SECONDS (default 8 hours), is older than
SESSION_MAX_SECONDS (default 14 days), or logged out (its id is in ``ended_sessions``). The
user is then anonymous, so a page that needs a log-in answers as for anyone signed out: the
login page, or 401 with ``HX-Redirect`` to it for an htmx request.

Embed sessions (embed_session.py) are stateless tokens checked by embed_frame.py instead: they
live EMBED_SESSION_SECONDS at most, and end with the contact's session_epoch.
"""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone

from flask import current_app, flash, request, session
from flask_login import current_user, login_user, logout_user

import models
from embed_session import EmbedSession

SEEN_GRANULARITY = 60  # seconds: how stale ``_seen`` may get before the cookie is re-sent
ENDED = "Your session has ended. Log in again."


def start() -> None:
    """Call right after ``login_user`` on a fresh session: a new id and clock for this sign-in."""
    now = int(time.time())
    session["_sid"] = secrets.token_urlsafe(24)
    session["_born"] = now
    session["_seen"] = now


def _expires_at(born: int) -> datetime:
    """When a session issued at ``born`` runs out at the latest (the ended-session row can go then)."""
    end = born + int(current_app.config["SESSION_MAX_SECONDS"])
    return datetime.fromtimestamp(end, timezone.utc).replace(tzinfo=None)


def _ended_reason() -> str | None:
    sid, born, seen = session.get("_sid"), session.get("_born"), session.get("_seen")
    if not isinstance(sid, str) or not isinstance(born, int) or not isinstance(seen, int):
        return "unknown"  # signed before sessions had an id and a clock: log in again
    now = int(time.time())
    config = current_app.config
    if now - born > int(config["SESSION_MAX_SECONDS"]):
        return "too old"
    if now - seen > int(config["SESSION_IDLE_SECONDS"]):
        return "idle"
    return None  # logged out: the user loader finds that in the same query (``logged_out``)


def check_login_session() -> None:
    """Before each request: end a first-party session that ran out or logged out; note its use."""
    if (
        isinstance(session._get_current_object(), EmbedSession)
        or "_user_id" not in session
        or request.endpoint == "static"
    ):
        return
    if _ended_reason() is not None:
        logout_user()
        session.clear()
        flash(ENDED)
        return
    now = int(time.time())
    if now - session["_seen"] >= SEEN_GRANULARITY:
        session["_seen"] = now


def logged_out() -> None:
    """The user loader found this session's id among the ended ones: it is over, say so."""
    session.clear()
    flash(ENDED)


def end_this_session() -> None:
    """Log out: this session ends on the server too, so a copy of its cookie no longer signs in."""
    sid, born = session.get("_sid"), session.get("_born")
    if isinstance(sid, str) and isinstance(born, int):
        models.end_login_session(sid, _expires_at(born))
    logout_user()
    session.clear()


def keep_signed_in(contact) -> None:
    """After ``end_all_sessions`` of the signed-in person: this first-party session stays signed in.

    It is the session that asked (a new password, "End sessions" on oneself); it takes the new
    epoch and keeps its id and clock. Inside a partner frame nothing is kept: that session ends too.
    """
    if isinstance(session._get_current_object(), EmbedSession):
        return
    if current_user.is_authenticated and current_user.id == contact.id and "_sid" in session:
        login_user(contact)
