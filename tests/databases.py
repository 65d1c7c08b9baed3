"""Fresh, empty databases for the tests that build their own schema.

Beside TEST_DATABASE_URL's server (PostgreSQL) a new database ``d_<uuid>`` is
created and dropped afterwards; otherwise a SQLite file in a temporary folder.
The schema is built either by ``db.create_all()`` or by ``flask db upgrade``.
"""
import os
import subprocess
import sys
import uuid
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from app import create_app
from config import TestConfig
from extensions import db

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_KINDS = ("create_all", "migrated")


def on_postgresql() -> bool:
    return os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql")


@contextmanager
def fresh_database(folder: Path):
    """The URL of a new, empty database; dropped again on leaving (PostgreSQL)."""
    if not on_postgresql():
        yield f"sqlite:///{folder / f'd_{uuid.uuid4().hex[:8]}.db'}"
        return
    base = os.environ["TEST_DATABASE_URL"]
    name = f"d_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def flask_db_upgrade(url: str) -> None:
    """Run the real command, in its own process, as an operator would."""
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": url}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


@contextmanager
def app_on_fresh_schema(kind: str, folder: Path, client_class=None):
    """An app bound to a new database whose schema ``kind`` built."""
    assert kind in SCHEMA_KINDS, kind
    with fresh_database(folder) as url:
        app = create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
        if client_class is not None:
            app.test_client_class = client_class
        if kind == "migrated":
            flask_db_upgrade(url)
        else:
            with app.app_context():
                db.create_all()
        try:
            yield app
        finally:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()
