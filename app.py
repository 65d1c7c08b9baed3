"""Application factory."""
from __future__ import annotations

import secrets
from pathlib import Path

from flask import Flask, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from jinja2 import StrictUndefined
from jinja2_fragments.flask import render_block
from sqlalchemy import event, select
from sqlalchemy.engine import Engine

import mailer
import models
from config import Config
from extensions import csrf, db, limiter, login, mail, migrate
from web import is_htmx


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
    from permissions import can, capabilities, roles_of

    app.jinja_env.globals["can"] = can
    app.jinja_env.globals["capabilities"] = capabilities
    app.jinja_env.globals["roles_of"] = roles_of

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
        from werkzeug.middleware.proxy_fix import ProxyFix

        count = int(app.config["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=0)

    register_blueprints(app)
    register_hooks(app)
    register_errors(app)

    import cli

    cli.register(app)
    return app


def no_generic_plans(app: Flask) -> None:
    """PostgreSQL: plan every statement with its values. psycopg prepares a statement after 5 runs, and
    PostgreSQL then may switch to one generic plan, which for a search (LIKE on a trigram index) cannot
    know how selective the term is and turns a 10 ms search into 80 ms (bench/README.md)."""
    if str(app.config.get("SQLALCHEMY_DATABASE_URI", "")).startswith("postgresql+psycopg"):
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        options["connect_args"] = {"prepare_threshold": None, **options.get("connect_args", {})}
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


def check_secret_key(app: Flask) -> None:
    """Refuse to serve a public address with the published development key: anyone could sign a session."""
    from urllib.parse import urlsplit

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
    from blueprints import account, admin, auth, companies, contacts, dashboard, embed, people, resellers, rooms

    for module in (auth, account, companies, contacts, rooms, dashboard, people, resellers, admin):
        app.register_blueprint(module.bp)
    # The embed blueprint also installs its session interface (header or partitioned-cookie sessions).
    app.register_blueprint(embed.bp)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_conn, _record) -> None:
    if type(dbapi_conn).__module__.startswith("sqlite3"):
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=5000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.close()


@login.user_loader
def load_user(user_id: str):
    cid, _, epoch = user_id.partition(":")
    try:
        cid, epoch = int(cid), int(epoch)
    except ValueError:
        return None
    user = db.session.execute(
        select(models.Contact).where(models.Contact.id == cid).execution_options(unscoped=True)
    ).scalar_one_or_none()
    if user is None or user.session_epoch != epoch or not user.is_active:
        return None  # a new password or a suspension ends every session, however the state was set
    return user


@login.unauthorized_handler
def unauthorized():
    from flask import redirect, url_for

    target = url_for("auth.login", next=request.full_path if request.method == "GET" else None)
    if is_htmx():
        return "", 401, {"HX-Redirect": target}
    return redirect(target)


def register_hooks(app: Flask) -> None:
    @app.before_request
    def set_scope():
        g.csp_nonce = secrets.token_urlsafe(16)
        g.scope = models.scope_for(current_user)
        from blueprints.people import apply_view_as

        apply_view_as()  # an active "view as" switches the user and scope to the target, read-only

    @app.after_request
    def security_headers(resp):
        nonce = g.get("csp_nonce", "")
        resp.headers["Content-Security-Policy"] = (
            f"default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'nonce-{nonce}'; "
            f"img-src 'self' https: data:; frame-ancestors {g.get('frame_ancestors', chr(39) + 'none' + chr(39))}; "
            "base-uri 'self'; form-action 'self'"
        )
        if not g.get("frame_ancestors"):
            resp.headers["X-Frame-Options"] = "DENY"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        resp.headers["Referrer-Policy"] = "same-origin"
        if not request.path.startswith("/static/"):
            resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.context_processor
    def layout_context():
        return {"csp_nonce": g.get("csp_nonce", ""), "embed": g.get("embed", False)}


def register_errors(app: Flask) -> None:
    def page(status: int, title: str, message: str):
        ctx = {"status": status, "title": title, "message": message}
        if is_htmx():
            body = render_block("errors/error.html", "error_message", **ctx)
            return body, status, {"HX-Retarget": "#toast", "HX-Reswap": "innerHTML"}
        return render_template("errors/error.html", **ctx), status

    @app.errorhandler(404)
    def not_found(_e):
        return page(404, "Not found", "There is nothing here, or it is not yours to see.")

    @app.errorhandler(403)
    def forbidden(_e):
        return page(403, "Not allowed", "You do not have permission to do that.")

    @app.errorhandler(405)
    def not_allowed(_e):
        return page(405, "Method not allowed", "That action is not available here.")

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        return page(400, "Form expired", "This form has expired or was not sent from the portal. Reload the page and try again.")

    @app.errorhandler(models.RuleError)
    def rule_error(e):
        db.session.rollback()
        return page(e.status, "Not possible", e.message)

    @app.errorhandler(429)
    def too_many(e):
        import time

        from flask import make_response

        limit = limiter.current_limit
        wait = max(1, int(limit.reset_at - time.time())) if limit else 60
        resp = make_response(page(429, "Too many attempts", f"Too many attempts. Try again in {wait} seconds."))
        resp.headers["Retry-After"] = str(wait)
        return resp

    @app.errorhandler(500)
    def server_error(_e):
        db.session.rollback()
        return page(500, "Something went wrong", "The change was not saved. Try again in a moment.")
