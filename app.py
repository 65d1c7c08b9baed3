"""Application factory."""
from __future__ import annotations

import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, make_response, redirect, request, session, url_for
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import StrictUndefined
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

import brand
import cli
import compression
import embed_frame
import login_sessions
import mailer
import models
from blueprints import (account, activity, admin, auth, companies, contacts, dashboard, embed, home, imports,
                        lifecycle, people, reports, resellers, rooms, trash)
from config import Config
from embed_session import EmbedSessionInterface
from extensions import csrf, db, limiter, login, mail, migrate
from permissions import can, capabilities, roles_of
import locale_format
from url_template import UrlTemplate, fill
from web import check_attrs, error_page, is_htmx, register_error_boundary


def create_app(config: type | dict | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.config.from_prefixed_env()
    no_generic_plans(app)
    check_secret_key(app)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config.get("TEMPLATES_STRICT"):
        app.jinja_env.undefined = StrictUndefined
    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["capabilities"] = capabilities
    app.jinja_env.globals["roles_of"] = roles_of
    app.jinja_env.globals["url_template"] = UrlTemplate
    app.jinja_env.filters["fill"] = fill
    app.jinja_env.globals["check_attrs"] = check_attrs
    locale_format.init_app(app)
    for enum in (models.Role, models.RoomStatus, models.ProductType, models.CompanyType, models.CustomerStatus,
                 models.ContactState):  # templates and form selects read the enumerations, e.g. RoomStatus.PAID
        app.jinja_env.globals[enum.__name__] = enum

    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, directory=str(Path(__file__).parent / "migrations"))
    login.init_app(app)
    login.login_view = "auth.login"
    login.login_message = "Please log in to see that page."
    mail.init_app(app)
    mailer.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config.get("PROXY_COUNT"):
        # Behind N trusted proxies (a load balancer): take the client address and scheme from
        # their X-Forwarded-* headers, so rate limits count clients, not the load balancer.
        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)

    # Embed credentials (header or partitioned cookie) or Flask's first-party cookie, per request.
    app.session_interface = EmbedSessionInterface()

    register_blueprints(app)
    register_hooks(app)
    register_errors(app)
    register_error_boundary(app)
    cli.register(app)
    return app


def no_generic_plans(app: Flask) -> None:
    """PostgreSQL: psycopg prepares a statement on the server after PG_PREPARE_THRESHOLD runs (null: never),
    so the signed-in user's query and the other plain ones are parsed and planned once (0.18 -> 0.06 ms).
    A search is never prepared: PostgreSQL may give a prepared statement one generic plan, which cannot know
    how selective ``LIKE $1`` is and turned a 10 ms search into 80 ms (bench/README.md). The search statements
    carry the execution option ``plan_each_time`` (models.search), read by ``_plan_searches_each_time``."""
    if str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql+psycopg"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        threshold = app.config.get("PG_PREPARE_THRESHOLD")
        options["connect_args"] = {"prepare_threshold": threshold, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


@event.listens_for(Engine, "before_cursor_execute")
def _plan_searches_each_time(conn, cursor, _statement, _params, context, _many) -> None:
    raw = getattr(cursor, "connection", None)
    if not hasattr(raw, "prepare_threshold") or context is None:
        return  # not psycopg
    if context.execution_options.get("plan_each_time"):
        if raw.prepare_threshold is not None:
            conn.info["prepare_threshold"] = raw.prepare_threshold
            raw.prepare_threshold = None  # this statement only: planned with its values, never prepared
    elif "prepare_threshold" in conn.info:
        raw.prepare_threshold = conn.info.pop("prepare_threshold")


def check_secret_key(app: Flask) -> None:
    """Refuse to serve a public address with the published development key: anyone could sign a session."""
    public_host = urlsplit(app.config.get("PUBLIC_URL") or "").hostname or ""
    if (
        app.config.get("SECRET_KEY") in (None, "", Config.SECRET_KEY)
        and not (app.debug or app.testing)
        and public_host not in ("127.0.0.1", "localhost")
    ):
        raise RuntimeError(
            f"PUBLIC_URL is {app.config.get('PUBLIC_URL')}, but SECRET_KEY is the development default. "
            "Set FLASK_SECRET_KEY to a long random value (python -c 'import secrets; print(secrets.token_hex(32))')."
        )


def register_blueprints(app: Flask) -> None:
    for module in (auth, account, home, lifecycle, companies, contacts, rooms, dashboard, people, resellers, admin,
                   embed, trash, activity, imports, reports):
        app.register_blueprint(module.bp)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA journal_mode=WAL")
        # A page cache of up to 64 MB per connection, not SQLite's 2 MB: a search reads a few hundred rows
        # spread over a table of 100 MB at size L, and with the small cache half its time went to re-reading
        # pages from the OS (contacts "okaf": 1.3 ms against 0.8 ms). It fills only as pages are read.
        cur.execute("PRAGMA cache_size=-65536")
        cur.close()


@login.user_loader
def load_user(user_id: str):
    cid, _, epoch = user_id.partition(":")
    try:
        cid, epoch = int(cid), int(epoch)
    except ValueError:
        return None
    user, ended = models.signed_in(cid, session.get("_sid"))
    if ended is not None:
        login_sessions.logged_out()
        return None
    if user is None or user.session_epoch != epoch or not user.is_active:
        return None  # a new password or a suspension ends every session, however the state was set
    return user


@login.unauthorized_handler
def unauthorized():
    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def set_csp_nonce() -> None:
    g.csp_nonce = secrets.token_urlsafe(16)


def set_scope() -> None:
    g.scope = models.scope_for(current_user)
    people.apply_view_as()  # an active "view as" switches the user and scope to the target, read-only


def security_headers(resp):
    nonce = g.get("csp_nonce", "")
    ancestors = g.get("frame_ancestors") or "'none'"
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
        f"img-src 'self' https: data:; frame-ancestors {ancestors}; "
        "base-uri 'self'; form-action 'self'"
    )
    if not g.get("frame_ancestors"):
        resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    if not request.path.startswith("/static/"):
        resp.headers["Cache-Control"] = "no-store"
    return resp


def layout_context() -> dict:
    """The layout's nonce and embed flag, and the colours of the user's reseller (brand.palette)."""
    reseller = getattr(current_user, "reseller", None) if current_user and current_user.is_authenticated else None
    return {"csp_nonce": g.get("csp_nonce", ""), "embed": g.get("embed", False),
            "brand": brand.palette(reseller.brand_color if reseller else None)}


def register_hooks(app: Flask) -> None:
    """Every request hook of the portal, in the order it runs.

    The init_app calls above registered theirs first, so they run before these: the CSRF check
    (Flask-WTF) and the rate limit (Flask-Limiter). After the view, Flask runs after_request hooks
    last registered first, so these run before the extensions' (rate-limit headers, Flask-Login's
    remember cookie). No hook sends mail: requests only write to the outbox (mailer.py). Blueprints
    add only their own guards (``bp.before_request``: log-in required), which run after all of these.
    """
    # Before the view, in this order:
    # 1. A CSP nonce first, so that every page, including an early 401 from step 2, can carry its scripts.
    app.before_request(set_csp_nonce)
    # 2. The embed session, before anything reads the user: an invalid or ended one answers 401 at once.
    app.before_request(embed_frame.check_embed_session)
    # 3. A first-party session that was idle too long, is too old or logged out ends here, before
    #    anything reads the user: the request goes on signed out (login page, or 401 + HX-Redirect).
    app.before_request(login_sessions.check_login_session)
    # 4. Then the tenant scope of the user step 2 let through (or of the contact a "view as" shows).
    app.before_request(set_scope)

    # After the view. Flask runs after_request hooks last registered first, so this list reads bottom-up:
    # 3rd, gzip for an answer that carries no secret (compression.py), on the finished body.
    app.after_request(compression.compress)
    # 2nd, the security headers: the last of ours, so no hook of ours changes them after they are set.
    app.after_request(security_headers)
    # 1st, inside the frame: a full-page navigation becomes an htmx one that keeps the session header.
    app.after_request(embed_frame.navigate_inside_the_frame)

    # Templates: the layout's nonce and embed flag, and in embed mode the frame's state.
    app.context_processor(layout_context)
    app.context_processor(embed_frame.embed_context)


def register_errors(app: Flask) -> None:

    @app.errorhandler(404)
    def not_found(_e):
        return error_page(404, "Not found", "There is nothing here, or it is not yours to see.")

    @app.errorhandler(403)
    def forbidden(_e):
        return error_page(403, "Not allowed", "You do not have permission to do that.")

    @app.errorhandler(405)
    def not_allowed(_e):
        return error_page(405, "Method not allowed", "That action is not available here.")

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return error_page(400, "Form expired", "This form has expired or was not sent from the portal. Reload the page and try again.")

    @app.errorhandler(models.RuleError)
    def rule_error(e):
        db.session.rollback()
        return error_page(e.status, "Not possible", e.message)

    @app.errorhandler(413)
    def too_large(_e):
        limit = app.config["MAX_CONTENT_LENGTH"] / 1e6
        return error_page(413, "Too large", f"The upload is too large: requests may be at most {limit:.0f} MB, "
                          f"and an import file at most {app.config['IMPORT_MAX_BYTES'] / 1e6:.0f} MB. "
                          "Split the file into smaller ones.")

    @app.errorhandler(429)
    def too_many(e):
        limit = limiter.current_limit
        wait = max(1, int(limit.reset_at - time.time())) if limit else 60
        resp = make_response(error_page(429, "Too many attempts", f"Too many attempts. Try again in {wait} seconds."))
        resp.headers["Retry-After"] = str(wait)
        return resp

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return error_page(500, "Something went wrong", "The change was not saved. Try again in a moment.")
