"""flaskr-style fixtures: app, client, htmx, auth, runner.

The database is TEST_DATABASE_URL (PostgreSQL in CI's second run), else a
SQLite file in a temporary folder. Tables are created once and emptied after
every test. CSRF stays on: the test client signs a real token for each write.

Each test runs in an app context of its own, so it can use ``db.session`` and
the factories directly. Each test-client request runs in a fresh app context,
as in production (its own ``g`` and ``db.session``); around it, the test's
session holds no transaction, and afterwards it reads what the request
committed.
"""
import contextlib
import contextvars
import hashlib
import os
import re

import pytest
from flask import current_app, has_app_context
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import func, select

import mailer
from app import create_app
from config import TestConfig
from extensions import db, limiter, mail
from models import OutboxMessage

from . import factories


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    app.test_client_class = PortalClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    yield app
    with app.app_context():
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def _clean(app):
    with app.app_context():
        yield
        db.session.remove()
        with db.engine.begin() as conn:
            for table in reversed(db.metadata.sorted_tables):
                conn.execute(table.delete())
    limiter.reset()


class PortalClient(FlaskClient):
    """Adds a valid CSRF token to every write unless csrf=False; htmx=True sends HX-Request."""

    def open(self, *args, csrf=True, htmx=False, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        if htmx:
            headers.setdefault("HX-Request", "true")
        if csrf and method in ("POST", "PUT", "PATCH", "DELETE") and "X-CSRFToken" not in headers:
            headers["X-CSRFToken"] = self.csrf_token()
        kwargs["headers"] = headers
        _end_test_transaction()
        # An empty contextvars.Context has no app context for Flask to reuse, so it pushes a new one.
        return contextvars.Context().run(self._open_and_read_downloads, *args, **kwargs)

    def _open_and_read_downloads(self, *args, **kwargs):
        """A download (CSV exports: a generator with the request's context) is produced while it is read:
        read it here, inside the request's own context (tests/test_csv_export.py reads one chunk by chunk)."""
        resp = super().open(*args, **kwargs)
        if resp.headers.get("Content-Disposition", "").startswith("attachment"):
            resp.get_data()
        return resp

    def csrf_token(self) -> str:
        app = self.application
        with self.session_transaction() as sess:
            raw = sess.get("csrf_token")
            if raw is None:
                raw = hashlib.sha1(os.urandom(64)).hexdigest()
                sess["csrf_token"] = raw
        return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)


def _end_test_transaction() -> None:
    """Before a request: the test's own session ends its transaction, so it holds no lock and no
    old snapshot while the request runs, and its objects are expired: the next read after the
    request loads what the request committed. Anything the request should see must be committed."""
    if not has_app_context():  # a request from a thread of the test, or a redirect the client follows
        return
    session = db.session
    unsaved = [*session.new, *session.deleted, *(obj for obj in session.dirty if session.is_modified(obj))]
    assert not unsaved, f"commit before the request: the test's session has unsaved changes to {unsaved}"
    session.rollback()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class AuthActions:
    def __init__(self, client):
        self.client = client

    def login(self, email, password=factories.PASSWORD):
        resp = self.client.post("/login", data={"email": email, "password": password})
        assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:500]
        return resp

    def logout(self):
        return self.client.post("/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def frozen_now():
    """``frozen_now(datetime)`` fixes the app's clock (models.utcnow/today) for this test."""
    import models

    yield models.set_now
    models.set_now(None)


@pytest.fixture
def world():
    """Two resellers, each with a staff user, a company, contacts and rooms."""
    return factories.world()


@pytest.fixture
def reseller_client(client, auth, world):
    auth.login(world.a.staff.email)
    return client


@pytest.fixture
def other_client(app, world):
    """A second client, signed in as the other reseller's staff."""
    c = app.test_client()
    AuthActions(c).login(world.b.staff.email)
    return c


def page_text(resp) -> str:
    return re.sub(r"\s+", " ", resp.get_data(as_text=True))


@contextlib.contextmanager
def delivered_mail():
    """The mail queued inside the block, delivered at its end as the mail worker would (and only
    that mail: the factories' welcome mails stay pending), in a list of Flask-Mail's records.

    Requests never send mail themselves; this stands in for the worker's next round.
    """
    app = current_app._get_current_object()
    before = db.session.execute(select(func.max(OutboxMessage.id))).scalar() or 0
    db.session.rollback()
    sent: list = []
    yield sent
    db.session.rollback()
    ids = db.session.execute(select(OutboxMessage.id).where(OutboxMessage.id > before)).scalars().all()
    db.session.rollback()
    if ids:
        with mail.record_messages() as records:
            mailer.deliver_pending(app, limit=len(ids), ids=ids)
        sent.extend(records)
