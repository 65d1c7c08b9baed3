"""search indexes: FTS5 trigram tables and triggers (SQLite), pg_trgm GIN indexes (PostgreSQL)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03

A frozen copy of models/search_index.py at the time of writing (a migration never imports the
live code); tests/test_migrations.py checks that create_all and this revision build the same objects.
"""
from alembic import op
from sqlalchemy import text

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

SQLITE = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS companies_fts USING fts5(name, content='', columnsize=0, tokenize='trigram')",
    'CREATE TRIGGER IF NOT EXISTS companies_fts_ai AFTER INSERT ON companies BEGIN INSERT INTO companies_fts(rowid, name) VALUES (new.id, new.name); END',
    "CREATE TRIGGER IF NOT EXISTS companies_fts_ad AFTER DELETE ON companies BEGIN INSERT INTO companies_fts(companies_fts, rowid, name) VALUES ('delete', old.id, old.name); END",
    "CREATE TRIGGER IF NOT EXISTS companies_fts_au AFTER UPDATE OF name ON companies BEGIN INSERT INTO companies_fts(companies_fts, rowid, name) VALUES ('delete', old.id, old.name); INSERT INTO companies_fts(rowid, name) VALUES (new.id, new.name); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS contacts_fts USING fts5(name, email, content='', columnsize=0, tokenize='trigram')",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_ai AFTER INSERT ON contacts BEGIN INSERT INTO contacts_fts(rowid, name, email) VALUES (new.id, new.first_name || ' ' || new.last_name, new.email); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_ad AFTER DELETE ON contacts BEGIN INSERT INTO contacts_fts(contacts_fts, rowid, name, email) VALUES ('delete', old.id, old.first_name || ' ' || old.last_name, old.email); END",
    "CREATE TRIGGER IF NOT EXISTS contacts_fts_au AFTER UPDATE OF first_name, last_name, email ON contacts BEGIN INSERT INTO contacts_fts(contacts_fts, rowid, name, email) VALUES ('delete', old.id, old.first_name || ' ' || old.last_name, old.email); INSERT INTO contacts_fts(rowid, name, email) VALUES (new.id, new.first_name || ' ' || new.last_name, new.email); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS rooms_fts USING fts5(name, slug, content='', columnsize=0, tokenize='trigram')",
    'CREATE TRIGGER IF NOT EXISTS rooms_fts_ai AFTER INSERT ON rooms BEGIN INSERT INTO rooms_fts(rowid, name, slug) VALUES (new.id, new.name, new.slug); END',
    "CREATE TRIGGER IF NOT EXISTS rooms_fts_ad AFTER DELETE ON rooms BEGIN INSERT INTO rooms_fts(rooms_fts, rowid, name, slug) VALUES ('delete', old.id, old.name, old.slug); END",
    "CREATE TRIGGER IF NOT EXISTS rooms_fts_au AFTER UPDATE OF name, slug ON rooms BEGIN INSERT INTO rooms_fts(rooms_fts, rowid, name, slug) VALUES ('delete', old.id, old.name, old.slug); INSERT INTO rooms_fts(rowid, name, slug) VALUES (new.id, new.name, new.slug); END",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_first_last ON contacts (reseller_id, lower(first_name || ' ' || last_name))",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_last_first ON contacts (reseller_id, lower(last_name || ' ' || first_name))",
    'CREATE INDEX IF NOT EXISTS ix_search_rooms_name ON rooms (reseller_id, name_key)',
]

# rows that exist already go into the new FTS tables
SQLITE_FILL = [
    'INSERT INTO companies_fts(rowid, name) SELECT id, name FROM companies',
    "INSERT INTO contacts_fts(rowid, name, email) SELECT id, first_name || ' ' || last_name, email FROM contacts",
    'INSERT INTO rooms_fts(rowid, name, slug) SELECT id, name, slug FROM rooms',
]

SQLITE_DROP = [
    'DROP TRIGGER IF EXISTS companies_fts_ai',
    'DROP TRIGGER IF EXISTS companies_fts_ad',
    'DROP TRIGGER IF EXISTS companies_fts_au',
    'DROP TRIGGER IF EXISTS contacts_fts_ai',
    'DROP TRIGGER IF EXISTS contacts_fts_ad',
    'DROP TRIGGER IF EXISTS contacts_fts_au',
    'DROP TRIGGER IF EXISTS rooms_fts_ai',
    'DROP TRIGGER IF EXISTS rooms_fts_ad',
    'DROP TRIGGER IF EXISTS rooms_fts_au',
    'DROP TABLE IF EXISTS companies_fts',
    'DROP TABLE IF EXISTS contacts_fts',
    'DROP TABLE IF EXISTS rooms_fts',
    'DROP INDEX IF EXISTS ix_search_contacts_first_last',
    'DROP INDEX IF EXISTS ix_search_contacts_last_first',
    'DROP INDEX IF EXISTS ix_search_rooms_name',
]

POSTGRESQL = [
    'CREATE EXTENSION IF NOT EXISTS pg_trgm',
    'CREATE INDEX IF NOT EXISTS ix_search_companies_name_trgm ON companies USING gin (name_key gin_trgm_ops)',
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_name_trgm ON contacts USING gin (lower(first_name || ' ' || last_name) gin_trgm_ops)",
    'CREATE INDEX IF NOT EXISTS ix_search_contacts_email_trgm ON contacts USING gin (lower(email) gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_search_rooms_name_trgm ON rooms USING gin (name_key gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_search_rooms_slug_trgm ON rooms USING gin (slug gin_trgm_ops)',
    'CREATE INDEX IF NOT EXISTS ix_search_companies_name_prefix ON companies (reseller_id, name_key text_pattern_ops)',
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_first_last ON contacts (reseller_id, lower(first_name || ' ' || last_name) text_pattern_ops)",
    "CREATE INDEX IF NOT EXISTS ix_search_contacts_last_first ON contacts (reseller_id, lower(last_name || ' ' || first_name) text_pattern_ops)",
    'CREATE INDEX IF NOT EXISTS ix_search_rooms_name ON rooms (reseller_id, name_key text_pattern_ops)',
]

POSTGRESQL_DROP = [
    'DROP INDEX IF EXISTS ix_search_companies_name_trgm',
    'DROP INDEX IF EXISTS ix_search_contacts_name_trgm',
    'DROP INDEX IF EXISTS ix_search_contacts_email_trgm',
    'DROP INDEX IF EXISTS ix_search_rooms_name_trgm',
    'DROP INDEX IF EXISTS ix_search_rooms_slug_trgm',
    'DROP INDEX IF EXISTS ix_search_companies_name_prefix',
    'DROP INDEX IF EXISTS ix_search_contacts_first_last',
    'DROP INDEX IF EXISTS ix_search_contacts_last_first',
    'DROP INDEX IF EXISTS ix_search_rooms_name',
]


def upgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in SQLITE + SQLITE_FILL:
            op.execute(text(sql))
    elif dialect == "postgresql":
        for sql in POSTGRESQL:
            op.execute(text(sql))


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for sql in SQLITE_DROP:
            op.execute(text(sql))
    elif dialect == "postgresql":
        for sql in POSTGRESQL_DROP:
            op.execute(text(sql))
