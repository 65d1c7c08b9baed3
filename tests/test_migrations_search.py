"""The search indexes as migrated: the same objects as create_all builds, filled for old rows, kept in step, and removed on downgrade."""
import os
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from app import create_app
from config import TestConfig
from extensions import db
from models.search_index import FTS_TABLES, SEARCH_INDEX_NAMES

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def empty_database_url(tmp_path):
    base = os.environ.get("TEST_DATABASE_URL", "")
    if not base.startswith("postgresql"):
        yield f"sqlite:///{tmp_path / 'migrate.db'}"
        return
    name = f"d_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.rsplit("/", 1)[0] + "/" + name
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def flask_db(url, *args):
    env = {**os.environ, "FLASK_SQLALCHEMY_DATABASE_URI": url}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "app", "db", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr


def search_objects(conn) -> set[tuple[str, str]]:
    """(type, name) of the FTS tables, triggers and search indexes in a database."""
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT type, name FROM sqlite_master WHERE name LIKE '%fts%' OR name LIKE 'ix_search_%'"))
    else:
        rows = conn.execute(text("SELECT 'index', indexname FROM pg_indexes WHERE indexname LIKE 'ix_search_%' "
                                 "UNION ALL SELECT 'extension', extname FROM pg_extension WHERE extname = 'pg_trgm'"))
    return {tuple(r) for r in rows}


def test_upgrade_builds_the_search_objects(empty_database_url):
    flask_db(empty_database_url, "upgrade")
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        objects = search_objects(conn)
    engine.dispose()
    if empty_database_url.startswith("sqlite"):
        assert {("table", t) for t in FTS_TABLES} <= objects
        assert {("trigger", f"{t}_{op}") for t in FTS_TABLES for op in ("ai", "ad", "au")} <= objects
    else:
        assert ("extension", "pg_trgm") in objects
    assert {name for _, name in objects} & SEARCH_INDEX_NAMES


def test_migrated_search_objects_match_create_all(app, empty_database_url):
    """The frozen copy in migration 0004 builds what create_all (the test schema) builds."""
    flask_db(empty_database_url, "upgrade")
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        migrated = search_objects(conn)
    engine.dispose()
    with db.engine.connect() as conn:
        created = search_objects(conn)
    assert migrated == created


def _insert_company(url, name):
    engine = create_engine(url)
    now = datetime(2026, 1, 1)
    with engine.begin() as conn:
        rid = conn.execute(text(
            "INSERT INTO resellers (name, trial_days, demo_days, brand_color, embed_origins, embed_secret, embed_epoch, "
            "created_at) VALUES ('Old Reseller', 14, 7, '#000000', '', 's', 0, :now) RETURNING id"), {"now": now}).scalar()
        conn.execute(text(
            "INSERT INTO companies (reseller_id, name, name_key, type, status, branded, created_at, version) "
            "VALUES (:rid, :name, :key, 'Business', 'prospect', false, :now, 1)"),
            {"rid": rid, "name": name, "key": name.lower(), "now": now})
    engine.dispose()


def test_search_works_on_migrated_database(empty_database_url):
    """Rows from before 0004 are indexed by it, and rows written after are kept in step by the triggers."""
    import models

    flask_db(empty_database_url, "upgrade", "0003")
    _insert_company(empty_database_url, "Lisbon Harbour Dental")
    flask_db(empty_database_url, "upgrade")
    migrated = create_app(type("M", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": empty_database_url}))
    with migrated.app_context():
        try:
            found = db.session.execute(models.search_companies("harbour")).scalars().all()
            assert [c.name for c in found] == ["Lisbon Harbour Dental"]
            company = found[0]
            room = models.create_room(company, {"name": "Quayside Standup", "product_type": "team room",
                                                "status": "paid subscriber"})
            db.session.commit()
            assert db.session.execute(models.search_rooms("aysid")).scalars().all() == [room]
            assert db.session.execute(models.search_rooms("arbou")).scalars().all() == [room]  # by company name
            models.update_room(room, {"name": "Dockside Standup", "product_type": "team room",
                                      "status": "paid subscriber"})
            db.session.commit()
            assert db.session.execute(models.search_rooms("quayside st")).scalars().all() == []  # the slug keeps "quayside-standup"
            assert db.session.execute(models.search_rooms("ockside")).scalars().all() == [room]
        finally:
            db.session.remove()
            db.engine.dispose()


def test_downgrade_removes_the_search_objects(empty_database_url):
    flask_db(empty_database_url, "upgrade")
    flask_db(empty_database_url, "downgrade", "0003")
    engine = create_engine(empty_database_url)
    with engine.connect() as conn:
        left = {name for kind, name in search_objects(conn) if kind != "extension"}  # pg_trgm may serve others
    engine.dispose()
    assert left == set()
    _insert_company(empty_database_url, "After Downgrade Ltd")  # no trigger points at a dropped table
