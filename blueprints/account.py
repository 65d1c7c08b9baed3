"""Password links and sessions: Reset password and End sessions on a contact, the public "forgot password"
form, and the set-password page."""
from functools import partial

from flask import Blueprint, Flask, abort, current_app, flash, g, make_response, redirect, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

import login_sessions
import models
from extensions import db, limiter
from models import Contact, ContactState, RuleError, get_or_404
from permissions import can
from locale_format import LOCALES, time_zones
from web import done, form_error, is_htmx, render

bp = Blueprint("account", __name__)


@bp.post("/contacts/<int:contact_id>/reset-password")
@login_required
def reset_password(contact_id):
    if not can(current_user, "manage"):
        abort(404)
    contact = get_or_404(Contact, contact_id)
    models.send_password_link(contact, "reset")
    db.session.commit()
    message = f"Password link sent to {contact.email}"
    if not is_htmx():
        flash(message)
    return done(message, [], url_for("contacts.edit", contact_id=contact.id))


@bp.post("/contacts/<int:contact_id>/end-sessions")
@login_required
def end_sessions(contact_id):
    """End every session of the contact: other browsers, and their embed session in the partner's frame.

    Asked about oneself outside the frame, this session stays signed in ("sign out everywhere else").
    """
    contact = get_or_404(Contact, contact_id)  # another reseller's contact: 404
    if not can(current_user, "end_sessions", contact):
        abort(404)
    models.end_all_sessions(contact, f"Ended every session of {contact.name}")
    db.session.commit()
    login_sessions.keep_signed_in(contact)
    if contact.id == current_user.id and not g.get("embed"):
        message = "Ended your other sessions; this one stays signed in"
    else:
        message = f"Ended every session of {contact.name}"
    if not is_htmx():
        flash(message)
    return done(message, [], url_for("contacts.edit", contact_id=contact.id))


def _preferences(**extra) -> dict:
    ctx = {"locales": [(key, label) for key, (label, *_) in LOCALES.items()], "time_zones": time_zones(),
           "form": {}, "errors": {}, "saved": False, "now": models.utcnow()}
    ctx.update(extra)
    return ctx


@bp.get("/account")
@login_required
def preferences():
    """Your account: the language and date format and the time zone dates and times read in."""
    return render("account/preferences.html", "preferences_form", **_preferences())


@bp.post("/account")
@login_required
def save_preferences():
    try:
        models.set_preferences(current_user, request.form)
        db.session.commit()
    except RuleError as err:
        return form_error("account/preferences.html", "preferences_form", err, **_preferences())
    body = render("account/preferences.html", "preferences_form", **_preferences(saved=True)).get_data(as_text=True)
    return done("Saved your date and number settings", [], url_for("account.preferences"), body=body)


def _invalid_link(token, err: RuleError):
    return render("account/password.html", "password_form", status=err.status, invalid=err.message,
                  token=token, form={}, errors={})


@bp.route("/password/<token>", methods=["GET", "POST"])
def set_password(token):
    if request.method == "GET":
        try:
            models.find_password_token(token)
        except RuleError as err:
            return _invalid_link(token, err)
        return render("account/password.html", "password_form", invalid=None, token=token, form={}, errors={})
    try:
        contact = models.set_password_with_token(token, request.form.get("password") or "",
                                                 request.form.get("password_repeat") or "")
        db.session.commit()
    except RuleError as err:
        if err.field:
            return form_error("account/password.html", "password_form", err, invalid=None, token=token)
        db.session.rollback()
        return _invalid_link(token, err)
    # Every other session of the contact has ended (a new session_epoch). If this browser is signed
    # in as that contact, it is the one that changed the password, and it stays signed in.
    if current_user.is_authenticated and current_user.id == contact.id:
        login_sessions.keep_signed_in(contact)
        flash("Your new password is set. Your other sessions have ended.")
        target = url_for("home.index")
    else:
        flash("Your new password is set. Log in with it.")
        target = url_for("auth.login")
    if is_htmx():
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


def send_reset_after_response(app: Flask, email: str) -> None:
    """The work of /forgot, done once the answer has gone out (``call_on_close``).

    Whether the email belongs to a live account decides whether anything is written, so
    none of it happens while the person waits: the answer takes the same time either way and
    cannot reveal which emails have accounts. The mail is queued in the outbox with its token,
    like all mail, and the mail worker delivers it.
    """
    try:
        with app.app_context():
            contact = db.session.execute(
                select(Contact).where(Contact.email == email).execution_options(unscoped=True)
            ).scalar_one_or_none()
            if contact is None or contact.state != ContactState.LIVE:
                return
            models.send_password_link(contact, "reset")
            db.session.commit()
    except Exception:  # the answer has gone; never raise into the server
        app.logger.exception("Forgot password: the link for a requested email was not queued.")


@bp.route("/forgot", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RATELIMIT_FORGOT"], methods=["POST"])
def forgot():
    if request.method == "GET":
        return render("account/forgot.html", "forgot_form", form={}, errors={})
    try:
        email = models.clean_email(request.form.get("email"))
    except RuleError as err:
        return form_error("account/forgot.html", "forgot_form", err)
    # The same answer, in the same time, whether or not the email belongs to an account:
    # the lookup and the mail happen after the answer is sent.
    flash(f"If {email} belongs to a live account, a link to set a new password is on its way. "
          "It works once, for 24 hours.")
    if is_htmx():
        resp = make_response("", 204, {"HX-Redirect": url_for("auth.login")})
    else:
        resp = redirect(url_for("auth.login"), 303)
    resp.call_on_close(partial(send_reset_after_response, current_app._get_current_object(), email))
    return resp
