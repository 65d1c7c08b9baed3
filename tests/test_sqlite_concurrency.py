"""Four OS processes write to one SQLite file at the same time: none is refused with "database is
locked", and every write they report is in the database (none lost)."""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select

import models
from app import create_app
from config import TestConfig
from extensions import db

from .databases import on_postgresql

WRITER = Path(__file__).parent / "scripts" / "sqlite_writer.py"
PROCESSES = 4
SECONDS = 5.0
RESULT = {}


@pytest.mark.skipif(on_postgresql(), reason="SQLite's single writer lock; PostgreSQL has row locks")
def test_four_processes_write_at_once_none_locked_none_lost(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    app = create_app(type("T", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with app.app_context():
        db.create_all()
        reseller = models.create_reseller("Writers", [])
        db.session.commit()
        rid = reseller.id
        companies_before = db.session.execute(select(func.count(models.Company.id))).scalar()
        db.session.remove()
        db.engine.dispose()
    start_at = time.time() + 3.0  # time for every process to import and build its app
    procs = [subprocess.Popen([sys.executable, str(WRITER), url, str(w), str(rid), str(SECONDS), str(start_at)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for w in range(PROCESSES)]
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    ok = sum(r["ok"] for r in reports)
    assert [r["locked"] for r in reports] == [0] * PROCESSES, reports
    assert [r["other"] for r in reports] == [[]] * PROCESSES, reports
    assert all(r["ok"] > 0 for r in reports), reports  # every process got to write
    engine = create_engine(url)
    with engine.connect() as conn:
        companies = conn.execute(select(func.count()).select_from(models.Company)).scalar() - companies_before
        contacts = conn.execute(select(func.count()).select_from(models.Contact)
                                .where(models.Contact.email.like("%@writers.example"))).scalar()
    engine.dispose()
    assert companies == ok and contacts == ok, (companies, contacts, reports)
    RESULT.update(processes=PROCESSES, writes=ok)
    print(f"sqlite concurrency: {PROCESSES} processes x {SECONDS:g} s, {ok} transactions "
          f"({[r['ok'] for r in reports]}), 0 locked, 0 lost")
