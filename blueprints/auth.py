"""Log in and out."""
from functools import lru_cache
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, request, session, url_for
from flask_login import current_user, login_user
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

import login_sessions
from extensions import db, limiter
from models import Contact
from web import render

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
    """``next`` when it is a path on this site, else home.

    Browsers drop tabs and line breaks from URLs ("/\\t/evil.example" becomes "//evil.example")
    and read a backslash as a slash, so any whitespace, control character or backslash refuses it.
    """
    if (
        target
        and len(target) <= 2000
        and target.startswith("/")
        and not target.startswith("//")
        and not any(c.isspace() or ord(c) < 32 or ord(c) == 127 or c == "\\" for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")  # Home for managers, My rooms for everyone else


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    """A hash made like real ones, checked when there is no account (or no password yet) for the email,
    so an unknown email costs the same time as a wrong password and the login does not reveal accounts."""
    return generate_password_hash("not a password of anyone")


@bp.get("/login")
def login():
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    return render("auth/login.html", "login_form", form={}, errors={}, next=request.args.get("next", ""))


@bp.post("/login")
@limiter.limit(lambda: current_app.config["RATELIMIT_LOGIN"], methods=["POST"])
def login_post():
    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    user = db.session.execute(
        select(Contact).where(Contact.email == email).execution_options(unscoped=True)
    ).scalar_one_or_none()
    error = None
    if user is None or not user.password_hash:
        check_password_hash(_dummy_hash(), password)  # same work either way (no account enumeration)
        error = "That email and password do not match an account."
    elif not check_password_hash(user.password_hash, password):
        error = "That email and password do not match an account."
    elif not user.is_active:
        error = "This account is suspended. Ask your reseller to reactivate it."
    if error:
        return render("auth/login.html", "login_form", status=422, form=request.form,
                      errors={"password": error}, next=request.form.get("next", ""))
    session.clear()  # no session fixation: start a fresh session on login
    login_user(user)
    login_sessions.start()  # a new session id, and the clock for the idle and lifetime limits
    target = _safe_next(request.form.get("next"))
    if request.headers.get("HX-Request") == "true":
        return "", 204, {"HX-Redirect": target}
    return redirect(target, 303)


@bp.post("/logout")
def logout():
    """This session ends on the server too (a copy of its cookie no longer works); the person's
    other sessions (another browser, the partner's frame) stay signed in. "End sessions" ends those."""
    login_sessions.end_this_session()
    db.session.commit()
    flash("You are logged out.")
    return redirect(url_for("auth.login"), 303)
