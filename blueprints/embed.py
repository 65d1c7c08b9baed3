"""The embed's pages: the partner's sign-in link, the frame's address, the embed settings, the CLI.

The partner contract is docs/embedding.md. The sign-in token is checked in embed_signin.py,
the embed session is embed_session.py, and what a request inside the frame gets (the
session check, framing, navigation) is embed_frame.py.

Inside the frame every navigation goes through htmx (hx-boost on the embed layout's body).
The frame's address is kept at ``/embed/<reseller>/open?path=…`` (a page without data that
re-opens ``path`` with the session from sessionStorage), so a reload inside the frame stays
signed in even when the browser stores no cookie. Secret and session management needs a
first-party session, never an embed one.
"""
from __future__ import annotations

import json
from datetime import timedelta

import click
from flask import Blueprint, abort, current_app, g, make_response, render_template, request, session, url_for
from flask_login import current_user, login_required

import models
from embed_frame import allow_framing, find_reseller, frame_origins, frame_state
from embed_session import EmbedSession, issue_session
from embed_signin import TokenProblem, accepted_secrets, find_contact, portal_path, sign_token, sso_url, verify_token
from extensions import db
from models import Contact, Reseller, Role
from permissions import can, is_manager
from web import is_htmx, render

bp = Blueprint("embed", __name__, cli_group="embed")


def default_path(contact: Contact) -> str:
    return url_for("companies.index") if is_manager(contact) else url_for("dashboard.index")


# --------------------------------------------------------------------------- views


@bp.get("/embed/sso")
def sso():
    try:
        contact, reseller, claims = verify_token(request.args.get("token", ""))
    except TokenProblem as problem:
        db.session.rollback()
        sess = session._get_current_object()
        if isinstance(sess, EmbedSession):
            sess.end()  # a failed sign-in also ends an older embed session here
        allow_framing(problem.reseller)
        return make_response(render_template("embed/problem.html", message=problem.message), problem.status)
    db.session.commit()
    token = issue_session(contact, reseller)
    allow_framing(reseller)
    path = claims.get("path") or default_path(contact)
    return render_template("embed/shell.html", state=frame_state(reseller, token), path=path)


@bp.get("/embed/<int:reseller_id>/open")
def reopen(reseller_id):
    """The frame's address: opens ``path`` again with the session kept in the frame (no data of its own)."""
    reseller = find_reseller(reseller_id)
    path = portal_path(request.args.get("path"))
    if reseller is None or path is None:
        abort(404)
    allow_framing(reseller)
    return render_template("embed/shell.html", state=frame_state(reseller, None), path=path)


# --------------------------------------------------------------------------- settings: secret and sessions


def _own_reseller(write: bool = False) -> Reseller:
    """The signed-in reseller user's reseller. Writes need a first-party session, never an embed one:
    whoever holds the signing secret can open an embed session as any user, and must not be able to
    use it to rotate the secret (and learn the new one) or keep the previous one alive."""
    if not (current_user.has_role(Role.RESELLER) and current_user.reseller_id is not None):
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
    contact = find_contact(email)
    if contact is None:
        raise click.ClickException(f"No contact of a reseller has the email {email}.")
    if path is not None and portal_path(path) is None:
        raise click.ClickException(f"{path} is not a portal page (give a path like /companies).")
    with current_app.test_request_context():
        click.echo(sso_url(sign_token(contact, path)))
