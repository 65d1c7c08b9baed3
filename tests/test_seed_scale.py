"""flask seed scale: the benchmark data set at a tiny size: counts, the database's rules, determinism."""
from datetime import date

from sqlalchemy import func, select, text

import models
import seed_scale
from extensions import db
from models import Company, Contact, Hosting, Room

N = 30
TODAY = date(2026, 6, 1)


def wipe():
    db.session.remove()
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


def snapshot():
    """The data set by value (ids differ between runs on PostgreSQL, whose sequences never go back)."""
    company = {c.id: c.name for c in db.session.execute(select(Company)).scalars()}
    people = {c.id: c.email for c in db.session.execute(select(Contact)).scalars()}
    rooms = {r.id: r.slug for r in db.session.execute(select(Room)).scalars()}
    return (
        sorted((company[c.id], c.type, c.status, c.branded, None if c.type == "Reseller" else c.created_at) for c in db.session.execute(select(Company)).scalars()),
        sorted((company.get(c.company_id), c.first_name, c.last_name, c.email, c.state, c.role_names, c.phone)
               for c in db.session.execute(select(Contact)).scalars()),
        sorted((company[r.company_id], r.name, r.slug, r.product_type, r.status, r.end_date, r.suspended, r.pin)
               for r in db.session.execute(select(Room)).scalars()),
        sorted((rooms[h.room_id], people[h.contact_id], h.is_owner) for h in db.session.execute(select(Hosting)).scalars()),
    )


def scalar(sql):
    return db.session.execute(text(sql)).scalar()


def test_seed_scale_cli_prints_the_login_and_refuses_twice(runner):
    result = runner.invoke(args=["seed", "scale", "--companies", str(N)])
    assert result.exit_code == 0, result.output
    assert seed_scale.STAFF_EMAIL in result.output and "password" in result.output
    again = runner.invoke(args=["seed", "scale", "--companies", str(N)])
    assert again.exit_code != 0 and "already loaded" in again.output


def test_seed_scale_counts_and_rules(app):
    result = seed_scale.seed_scale(N, seed=7, today=TODAY)
    others = 9 * max(1, N // seed_scale.OTHERS_PER_MAIN)
    seeded = N + others
    assert result["companies"] == seeded and result["contacts"] == 10 * seeded and result["rooms"] == 5 * seeded
    assert 1.2 * result["rooms"] < result["hostings"] < 1.8 * result["rooms"]
    main = result["main_reseller_id"]
    assert db.session.execute(select(func.count()).select_from(Company).where(Company.reseller_id == main)).scalar() == N + 1
    # the database's rules, beyond what its constraints already refused
    assert scalar("SELECT count(*) FROM companies WHERE name_key <> lower(name)") == 0
    assert scalar("SELECT count(*) FROM rooms WHERE name_key <> lower(name)") == 0
    for table in ("companies", "contacts", "rooms"):  # (the reseller user was made and then given a password)
        assert scalar(f"SELECT count(*) FROM {table} WHERE version <> 1 AND {table}.id NOT IN "
                      "(SELECT id FROM contacts WHERE role_names = 'reseller')") == 0
    assert scalar("SELECT count(*) FROM (SELECT room_id FROM hostings GROUP BY room_id "
                  "HAVING sum(CASE WHEN is_owner THEN 1 ELSE 0 END) <> 1) AS x") == 0
    assert scalar("SELECT count(*) FROM hostings h JOIN rooms r ON r.id = h.room_id "
                  "WHERE h.company_id <> r.company_id OR h.room_type <> r.product_type OR h.reseller_id <> r.reseller_id") == 0
    assert scalar("SELECT count(*) FROM contacts c JOIN companies k ON k.id = c.company_id "
                  "WHERE c.reseller_id <> k.reseller_id") == 0
    assert scalar("SELECT count(*) FROM rooms WHERE status = 'paid subscriber' AND end_date IS NOT NULL") == 0
    # liveness near its targets (90% of contacts, 85% of rooms; loose at this size)
    live = scalar("SELECT count(*) FROM contacts WHERE state = 'live' AND role_names <> 'reseller'")
    assert 0.8 < live / result["contacts"] < 0.97
    live_rooms = db.session.execute(select(func.count()).select_from(Room).where(
        Room.suspended.is_(False), (Room.status == "paid subscriber") | (Room.end_date >= TODAY))).scalar()
    assert 0.7 < live_rooms / result["rooms"] < 0.95
    # names are varied and searchable
    assert scalar("SELECT count(DISTINCT last_name) FROM contacts") > 50
    assert db.session.execute(models.search_contacts(db.session.execute(select(Contact.last_name).limit(1)).scalar()[:4])).first()
    # only the resellers and their user were audited, not every row
    assert db.session.execute(select(func.count()).select_from(models.AuditEvent)).scalar() < 40


def test_seed_scale_is_deterministic(app):
    seed_scale.seed_scale(N, seed=3, today=TODAY)
    first = snapshot()
    wipe()
    seed_scale.seed_scale(N, seed=3, today=TODAY)
    assert snapshot() == first
    wipe()
    seed_scale.seed_scale(N, seed=4, today=TODAY)
    assert snapshot() != first


def test_seed_scale_indexes_every_row_for_search_and_leaves_the_triggers_working(app):
    """On SQLite the seed fills the FTS tables in one pass (search_index.bulk_load), with the insert triggers
    dropped meanwhile: every seeded row is found, the triggers are back, and a row added later is found too."""
    cache = scalar("PRAGMA cache_size") if db.session.get_bind().dialect.name == "sqlite" else None
    result = seed_scale.seed_scale(N, seed=5, today=TODAY)
    if db.session.get_bind().dialect.name == "sqlite":
        for name, column in (("companies", "name"), ("contacts", "email"), ("rooms", "slug")):
            rows = db.session.execute(text(f"SELECT id, {column} FROM {name}")).all()
            assert len(rows) >= result[name]  # (and the resellers' own companies and the reseller user)
            for ident, value in rows:  # (a contentless FTS table cannot be scanned: each row by its own text)
                found = db.session.execute(text(f"SELECT rowid FROM {name}_fts WHERE {name}_fts MATCH :q"),
                                           {"q": models.search._match(value.lower())}).scalars().all()
                assert ident in found, (name, value)
        triggers = {r[0] for r in db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        assert {f"{name}_fts_{op}" for name in ("companies", "contacts", "rooms") for op in ("ai", "ad", "au")} <= triggers
        assert scalar("PRAGMA cache_size") == cache  # the load's larger cache is put back
    for contact in db.session.execute(select(Contact).order_by(Contact.id.desc()).limit(3)).scalars():
        found = db.session.execute(models.search_contacts(contact.email)).scalars().all()
        assert contact in found
    company = db.session.execute(select(Company).order_by(Company.id.desc()).limit(1)).scalar_one()
    later = models.create_contact(company, {"first_name": "Quillon", "last_name": "Zephyrine",
                                              "email": "quillon.zephyrine@example.com"}, welcome=False)
    db.session.commit()
    assert db.session.execute(models.search_contacts("zephyrin")).scalars().all() == [later]


def test_a_seed_that_fails_midway_leaves_nothing_and_the_triggers_in_place(app):
    def fail(_done):
        raise RuntimeError("disk full")

    try:
        seed_scale.seed_scale(N, seed=5, today=TODAY, progress=fail)
    except RuntimeError:
        db.session.rollback()
    assert scalar("SELECT count(*) FROM companies") == 0 and scalar("SELECT count(*) FROM contacts") == 0
    if db.session.get_bind().dialect.name == "sqlite":
        triggers = {r[0] for r in db.session.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'"))}
        assert {f"{name}_fts_ai" for name in ("companies", "contacts", "rooms")} <= triggers
