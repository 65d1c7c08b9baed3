"""flask --app app db backup PATH: a consistent online copy of the SQLite database, restorable."""
import threading
import time

import pytest
from sqlalchemy import func, select

import cli
import models
from app import create_app
from config import TestConfig
from extensions import db

from .databases import on_postgresql


def _app(path):
    return create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}))


def _backup(app, *args):
    """The command, in ``app``'s context (the tests' autouse fixture holds the suite app's)."""
    with app.app_context():
        return app.test_cli_runner().invoke(cli.db_cli, ["backup", *map(str, args)])


def _count(model):
    return db.session.execute(select(func.count()).select_from(model)).scalar()


@pytest.mark.skipif(on_postgresql(), reason="the command copies SQLite; PostgreSQL uses pg_dump")
def test_backup_while_another_thread_writes_restores_the_same_data(tmp_path):
    live = _app(tmp_path / "live.db")
    with live.app_context():
        db.create_all()
        reseller = models.create_reseller("Backup Reseller", [])
        for i in range(60):
            company = models.create_company(reseller.id, {"name": f"Lisbon Works {i:02}", "type": "Business",
                                                          "status": "customer"})
            models.create_contact(company, {"first_name": "Ana", "last_name": f"Sousa {i:02}",
                                            "email": f"ana{i}@lisbon.example"}, welcome=False)
        db.session.commit()
        rid = reseller.id
        db.session.remove()

    stop = threading.Event()
    written = []

    def writer():
        with live.app_context():
            i = 0
            while not stop.is_set():
                company = models.create_company(rid, {"name": f"During {i}", "type": "Business", "status": "customer"})
                models.create_contact(company, {"first_name": "Dee", "last_name": f"Ring {i}",
                                                "email": f"during{i}@b.example"}, welcome=False)
                db.session.commit()
                written.append(i)
                i += 1
            db.session.remove()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:  # the backup starts while the writer is well under way
            time.sleep(0.01)
        target = tmp_path / "backup.db"
        result = _backup(live, target)
        assert result.exit_code == 0, result.output
        assert "Backed up" in result.output
        time.sleep(0.1)
    finally:
        stop.set()
        thread.join()
    assert written  # the writer really wrote during the backup

    restored = _app(target)  # restoring is putting the file in place: here, a new app on the copy
    with restored.app_context():
        companies = _count(models.Company)
        during = db.session.execute(select(func.count()).where(models.Company.name.like("During %"))).scalar()
        assert 60 + 1 <= companies <= 60 + 1 + len(written)  # the 60, the reseller's own, and a prefix of the rest
        # consistent: every company of the writer came with its contact (one transaction each)
        assert _count(models.Contact) - 60 == during
        assert _count(models.AuditEvent) > 0
        names = db.session.execute(select(models.Company.name).where(models.Company.name.like("Lisbon%"))
                                   .order_by(models.Company.name)).scalars().all()
        assert names == [f"Lisbon Works {i:02}" for i in range(60)]
        sample = db.session.execute(select(models.Contact).where(models.Contact.email == "ana7@lisbon.example")).scalar_one()
        assert (sample.last_name, sample.company.name) == ("Sousa 07", "Lisbon Works 07")
        # the FTS5 search tables came along: a substring search answers from the copy
        found = db.session.execute(models.search_companies("sbon works 1")).scalars().all()
        assert sorted(c.name for c in found) == [f"Lisbon Works {i}" for i in range(10, 20)]
        found = db.session.execute(models.search_contacts("usa 07")).scalars().all()
        assert [c.email for c in found] == ["ana7@lisbon.example"]
        db.session.remove()
        db.engine.dispose()
    with live.app_context():
        db.engine.dispose()


@pytest.mark.skipif(on_postgresql(), reason="the command copies SQLite")
def test_backup_refuses_to_overwrite_without_force(tmp_path):
    live = _app(tmp_path / "live.db")
    with live.app_context():
        db.create_all()
        models.create_reseller("Kept", [])
        db.session.commit()
        db.session.remove()
    target = tmp_path / "backup.db"
    target.write_text("precious")
    result = _backup(live, target)
    assert result.exit_code != 0 and "--force" in result.output
    assert target.read_text() == "precious"
    result = _backup(live, target, "--force")
    assert result.exit_code == 0, result.output
    with _app(target).app_context():
        assert db.session.execute(select(models.Reseller.name)).scalars().all() == ["Kept"]
        db.engine.dispose()
    with live.app_context():
        db.engine.dispose()


def test_backup_on_postgresql_points_to_pg_dump(tmp_path):
    pg = create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none"}))
    result = _backup(pg, tmp_path / "x.db")
    assert result.exit_code != 0
    assert "pg_dump -Fc" in result.output and "pg_restore" in result.output
    assert not (tmp_path / "x.db").exists()


def test_backup_is_a_command_of_the_db_group(tmp_path):
    """Reachable as ``flask --app app db backup`` (Flask-Migrate's group)."""
    assert "backup" in cli.db_cli.commands and "upgrade" in cli.db_cli.commands
