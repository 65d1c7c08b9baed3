"""Migration 0006 (activity): events written before it get the actor's name and the object's company,
and it downgrades again."""
from datetime import datetime

from sqlalchemy import create_engine, text

from .test_migrations_search import empty_database_url, flask_db  # noqa: F401 (a fixture)


def test_upgrade_fills_actor_name_and_company_of_old_events(empty_database_url):  # noqa: F811
    flask_db(empty_database_url, "upgrade", "0004")
    engine = create_engine(empty_database_url)
    now = datetime(2026, 1, 1)
    try:
        with engine.begin() as conn:
            rid = conn.execute(text(
                "INSERT INTO resellers (name, trial_days, demo_days, brand_color, embed_origins, embed_secret, "
                "embed_epoch, created_at) VALUES ('Old', 14, 7, '#000000', '', 's', 0, :now) RETURNING id"),
                {"now": now}).scalar()
            cid = conn.execute(text(
                "INSERT INTO companies (reseller_id, name, name_key, type, status, branded, created_at, version) "
                "VALUES (:rid, 'Old Co', 'old co', 'Business', 'prospect', false, :now, 1) RETURNING id"),
                {"rid": rid, "now": now}).scalar()
            pid = conn.execute(text(
                "INSERT INTO contacts (reseller_id, company_id, first_name, last_name, email, role_names, state, "
                "session_epoch, created_at, version) VALUES (:rid, :cid, 'Olga', 'Old', 'olga@old.example', "
                "'reseller', 'live', 0, :now, 1) RETURNING id"), {"rid": rid, "cid": cid, "now": now}).scalar()
            for kind, oid in (("Company", cid), ("Contact", pid)):
                conn.execute(text(
                    "INSERT INTO audit_events (at, actor_id, reseller_id, action, object_type, object_id, summary, "
                    "changes) VALUES (:now, :pid, :rid, 'update', :kind, :oid, 'old', '{}')"),
                    {"now": now, "pid": pid, "rid": rid, "kind": kind, "oid": oid})
        flask_db(empty_database_url, "upgrade")
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT object_type, actor_name, company_id FROM audit_events "
                                     "ORDER BY id")).all()
        assert [tuple(r) for r in rows] == [("Company", "Olga Old", cid), ("Contact", "Olga Old", cid)]
        flask_db(empty_database_url, "downgrade", "0004")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM audit_events")).scalar() == 2
    finally:
        engine.dispose()
