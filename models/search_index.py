"""The search indexes: SQLite FTS5 trigram tables kept in step by triggers, PostgreSQL pg_trgm GIN indexes.

They live outside the mapped tables (no model describes a virtual table or an opclass index), so
``install`` adds them after ``db.create_all()`` (an ``after_create`` hook on the metadata), and
migration 0004 holds a frozen copy of the same statements. ``tests/test_migrations_search.py`` checks the two agree.

SQLite: contentless FTS5 tables (``content=''``) store only the trigram index; a row is removed with
the FTS5 'delete' command and the row's old values, which the triggers have at hand. Contacts index
the full name ("first last") and the email; rooms index name and meeting link; companies their name.
A room is also found by its company's name through ``companies_fts`` (no copy of the company name is
kept in the rooms index, so a company rename needs no trigger on rooms).

Both: a (reseller_id, key) B-tree per list serves 1–2 character terms as a prefix range.
"""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy import event, text

FTS_TABLES = ("companies_fts", "contacts_fts", "rooms_fts")
SQLITE_INDEX_NAMES = ("ix_search_contacts_first_last", "ix_search_contacts_last_first", "ix_search_rooms_name",
                      "ix_search_contacts_sort_name")
# Contacts by name, in the list's order (migration 0007): the prefix index above is text_pattern_ops on
# PostgreSQL, which cannot give an ORDER BY in the collation, so PostgreSQL sorted the reseller's 200,000
# contacts for every page of the list (340 ms at size L).
SORT_NAME = ("CREATE INDEX IF NOT EXISTS ix_search_contacts_sort_name ON contacts "
             "(reseller_id, lower(last_name || ' ' || first_name), id)")

SQLITE = [
    # companies
    "CREATE VIRTUAL TABLE IF NOT EXISTS companies_fts USING fts5("
    "name, content='', columnsize=0, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS companies_fts_ai AFTER INSERT ON companies BEGIN "
    "INSERT INTO companies_fts(rowid, name) VALUES (new.id, new.name); END",
    "CREATE TRIGGER IF NOT EXISTS companies_fts_ad AFTER DELETE ON companies BEGIN "
    "INSERT INTO companies_fts(companies_fts, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER IF NOT EXISTS companies_fts_au AFTER UPDATE OF name ON companies BEGIN "
    "INSERT INTO companies_fts(companies_fts, rowid, name) VALUES ('delete', old.id, old.name); "
    "INSERT INTO companies_fts(rowid, name) VALUES (new.id, new.name); END",
    # contacts: full name and email
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5("
    "name, email, content='', columnsize=0, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_ai AFTER INSERT ON contacts BEGIN "
    "INSERT INTO contacts_fts(rowid, name, email) VALUES (new.id, new.first_name || ' ' || new.last_name, new.email); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_ad AFTER DELETE ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, name, email) "
    "VALUES ('delete', old.id, old.first_name || ' ' || old.last_name, old.email); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_au AFTER UPDATE OF first_name, last_name, email ON contacts BEGIN "
    "INSERT INTO contacts_fts(contacts_fts, rowid, name, email) "
    "VALUES ('delete', old.id, old.first_name || ' ' || old.last_name, old.email); "
    "INSERT INTO contacts_fts(rowid, name, email) VALUES (new.id, new.first_name || ' ' || new.last_name, new.email); END",
    # rooms: name and meeting link
    "CREATE VIRTUAL TABLE IF NOT EXISTS rooms_fts USING fts5("
    "name, slug, content='', columnsize=0, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS rooms_fts_ai AFTER INSERT ON rooms BEGIN "
    "INSERT INTO rooms_fts(rowid, name, slug) VALUES (new.id, new.name, new.slug); END",
    "CREATE TRIGGER IF NOT EXISTS rooms_fts_ad AFTER DELETE ON rooms BEGIN "
    "INSERT INTO rooms_fts(rooms_fts, rowid, name, slug) VALUES ('delete', old.id, old.name, old.slug); END",
    "CREATE TRIGGER IF NOT EXISTS rooms_fts_au AFTER UPDATE OF name, slug ON rooms BEGIN "
    "INSERT INTO rooms_fts(rooms_fts, rowid, name, slug) VALUES ('delete', old.id, old.name, old.slug); "
    "INSERT INTO rooms_fts(rowid, name, slug) VALUES (new.id, new.name, new.slug); END",
    # 1–2 character terms: prefix ranges within a reseller
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_first_last ON contacts "
    "(reseller_id, lower(first_name || ' ' || last_name))",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_last_first ON contacts "
    "(reseller_id, lower(last_name || ' ' || first_name))",
    "CREATE INDEX IF NOT EXISTS ix_search_rooms_name ON rooms (reseller_id, name_key)",
    SORT_NAME,
]

# Fill the FTS tables from rows that exist already (the migration on a populated database).
SQLITE_FILL = [
    "INSERT INTO companies_fts(rowid, name) SELECT id, name FROM companies",
    "INSERT INTO contacts_fts(rowid, name, email) SELECT id, first_name || ' ' || last_name, email FROM contacts",
    "INSERT INTO rooms_fts(rowid, name, slug) SELECT id, name, slug FROM rooms",
]

SQLITE_DROP = [f"DROP TRIGGER IF EXISTS {name}_{op}" for name in FTS_TABLES for op in ("ai", "ad", "au")] + [
    f"DROP TABLE IF EXISTS {name}" for name in FTS_TABLES] + [
    f"DROP INDEX IF EXISTS {name}" for name in SQLITE_INDEX_NAMES
]

POSTGRESQL_INDEX_NAMES = (
    "ix_search_companies_name_trgm", "ix_search_contacts_name_trgm", "ix_search_contacts_email_trgm",
    "ix_search_rooms_name_trgm", "ix_search_rooms_slug_trgm",
    "ix_search_companies_name_prefix", "ix_search_contacts_first_last", "ix_search_contacts_last_first",
    "ix_search_rooms_name", "ix_search_contacts_sort_name",
)

POSTGRESQL = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS ix_search_companies_name_trgm ON companies USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_name_trgm ON contacts "
    "USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_rooms_name_trgm ON rooms USING gin (name_key gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_rooms_slug_trgm ON rooms USING gin (slug gin_trgm_ops)",
    # 1–2 character terms: prefix ranges (text_pattern_ops: byte order, whatever the collation)
    "CREATE INDEX IF NOT EXISTS ix_search_companies_name_prefix ON companies (reseller_id, name_key text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_first_last ON contacts "
    "(reseller_id, lower(first_name || ' ' || last_name) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_last_first ON contacts "
    "(reseller_id, lower(last_name || ' ' || first_name) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_rooms_name ON rooms (reseller_id, name_key text_pattern_ops)",
    SORT_NAME,
]

POSTGRESQL_DROP = [f"DROP INDEX IF EXISTS {name}" for name in POSTGRESQL_INDEX_NAMES]

SEARCH_INDEX_NAMES = frozenset(SQLITE_INDEX_NAMES) | frozenset(POSTGRESQL_INDEX_NAMES)


def is_search_object(name: str | None) -> bool:
    """The FTS tables (and their shadow tables) and the search indexes: not described by the models."""
    return bool(name) and (name in SEARCH_INDEX_NAMES or any(name.startswith(t) for t in FTS_TABLES))


def statements(dialect: str) -> list[str]:
    return {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, [])


def install(connection) -> None:
    """Create the search tables, triggers and indexes (idempotent)."""
    for sql in statements(connection.dialect.name):
        connection.execute(text(sql))


def uninstall(connection) -> None:
    drops = {"sqlite": SQLITE_DROP, "postgresql": POSTGRESQL_DROP}.get(connection.dialect.name, [])
    for sql in drops:
        connection.execute(text(sql))


@contextmanager
def bulk_load(connection, after_ids: dict[str, int]):
    """Rows inserted inside go into the FTS tables in one pass at the end, not one by one through the insert
    triggers: at size L (290,000 contacts) the contacts took 42 s through the trigger, and 11 s plus 4 s so.
    ``after_ids``: table -> the largest id before the load; only the rows above it are indexed here.

    Call it inside a write transaction (the triggers' DROP and CREATE are part of it): no other writer can
    insert while the triggers are gone, and a rollback brings them back. PostgreSQL: nothing to do."""
    if connection.dialect.name != "sqlite":
        yield
        return
    inserts = {table: next(sql for sql in SQLITE if f"TRIGGER IF NOT EXISTS {table}_fts_ai " in sql)
               for table in after_ids}
    for table in after_ids:
        connection.execute(text(f"DROP TRIGGER {table}_fts_ai"))
    yield
    for fill in SQLITE_FILL:
        table = fill.rsplit(" ", 1)[1]
        if table in after_ids:
            connection.execute(text(f"{fill} WHERE id > :after"), {"after": after_ids[table]})
    for sql in inserts.values():
        connection.execute(text(sql))


def register(metadata) -> None:
    """Keep ``metadata.create_all`` / ``drop_all`` schemas searchable like migrated ones."""

    @event.listens_for(metadata, "after_create")
    def _after_create(_target, connection, **_kw):
        install(connection)

    @event.listens_for(metadata, "before_drop")
    def _before_drop(_target, connection, **_kw):
        uninstall(connection)
