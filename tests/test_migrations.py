"""`flask db upgrade` on an empty database builds exactly what the models say,
and its CHECK constraints and partial indexes hold exactly the enumerations' values."""
import re
from contextlib import ExitStack

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from extensions import db
from models import CompanyType, ContactState, CustomerStatus, ProductType, Role, RoomStatus
from models.search_index import is_search_object

from .databases import SCHEMA_KINDS, app_on_fresh_schema

# Every predicate in the schema that names a string value: the column it tests, and the values.
ENUM_PREDICATES = {
    "ck_companies_type_known": ("type", list(CompanyType)),
    "ck_companies_status_known": ("status", list(CustomerStatus)),
    "ck_contacts_state_known": ("state", list(ContactState)),
    "ck_contacts_company_unless_admin": ("role_names", [Role.ADMINISTRATOR]),
    "ck_rooms_product_type_known": ("product_type", list(ProductType)),
    "ck_rooms_status_known": ("status", list(RoomStatus)),
    "ck_rooms_end_date_unless_paid": ("status", [RoomStatus.PAID]),
    "uq_hostings_one_personal_host": ("room_type", [ProductType.PERSONAL]),
}
LITERAL = re.compile(r"'((?:[^']|'')*)'")


@pytest.fixture(scope="module")
def schemas(tmp_path_factory):
    """An app per schema kind, each on a fresh database, built once for this module."""
    with ExitStack() as stack:
        yield {kind: stack.enter_context(app_on_fresh_schema(kind, tmp_path_factory.mktemp(kind))) for kind in SCHEMA_KINDS}


def test_upgrade_on_empty_database_matches_models(schemas):
    with schemas["migrated"].app_context(), db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": _not_search})
        diff = compare_metadata(ctx, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def _not_search(obj, name, type_, reflected, compare_to):
    """The search tables, triggers and indexes are no models: tests/test_migrations_search.py covers them."""
    return not (reflected and compare_to is None and is_search_object(name))


def _balanced(sql: str, start: int) -> str:
    """The text inside the parenthesis that opens at sql[start], quotes respected."""
    depth, quoted = 0, False
    for i in range(start, len(sql)):
        ch = sql[i]
        if ch == "'":
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
            if depth == 0:
                return sql[start + 1:i]
    raise AssertionError(f"unbalanced: {sql[start:]}")


def predicates(conn) -> dict[str, str]:
    """Name → text of every CHECK constraint and partial-index WHERE clause, as the database keeps it."""
    found = {}
    if conn.dialect.name == "sqlite":
        for kind, name, sql in conn.execute(text("SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL")):
            if kind == "table":
                for m in re.finditer(r"CONSTRAINT (\w+) CHECK \(", sql):
                    found[m.group(1)] = _balanced(sql, m.end() - 1)
            elif kind == "index" and " WHERE " in sql:
                found[name] = sql.split(" WHERE ", 1)[1]
    else:
        rows = conn.execute(text(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE contype = 'c' AND connamespace = 'public'::regnamespace"
        ))
        for name, definition in rows:
            found[name] = definition
        for name, definition in conn.execute(text("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")):
            if " WHERE " in definition:
                found[name] = definition.split(" WHERE ", 1)[1]
    return found


def literals(predicate: str) -> list[str]:
    return sorted(m.replace("''", "'") for m in LITERAL.findall(predicate))


def test_literals_reads_quoted_values():
    assert literals("type IN ('b', 'a''s')") == ["a's", "b"]
    assert literals("((room_type)::text = 'personal room'::text)") == ["personal room"]


@pytest.mark.parametrize("kind", SCHEMA_KINDS)
def test_checks_and_partial_indexes_hold_exactly_the_enum_values(schemas, kind):
    with schemas[kind].app_context(), db.engine.connect() as conn:
        found = predicates(conn)
    with_values = {name for name, predicate in found.items() if literals(predicate)}
    assert with_values == set(ENUM_PREDICATES), "a predicate with string values is not listed here, or is missing"
    for name, (column, values) in ENUM_PREDICATES.items():
        assert re.search(rf"\b{column}\b", found[name]), (name, found[name])
        assert literals(found[name]) == sorted(str(v) for v in values), (name, found[name])
    # the other partial index and the numeric checks are there too
    assert "is_owner" in found["uq_hostings_one_owner"]
    for name in ("ck_companies_name_length", "ck_rooms_name_length", "ck_rooms_max_participants_range",
                 "ck_resellers_trial_days_range", "ck_resellers_demo_days_range"):
        assert name in found


# The migration reads the enums, so a fresh database always follows them; a database migrated
# before a change keeps the predicate it had. Changing a value here therefore needs a new
# revision that recreates that constraint or index (batch_alter_table), and only then an update here.
MIGRATED_VALUES = {
    "ck_companies_type_known": ["Reseller", "Business", "Education", "Healthcare", "Government", "Non-profit"],
    "ck_companies_status_known": ["prospect", "customer"],
    "ck_contacts_state_known": ["live", "suspended"],
    "ck_contacts_company_unless_admin": ["administrator"],
    "ck_rooms_product_type_known": ["personal room", "team room"],
    "ck_rooms_status_known": ["demo", "trial", "paid subscriber"],
    "ck_rooms_end_date_unless_paid": ["paid subscriber"],
    "uq_hostings_one_personal_host": ["personal room"],
}


@pytest.mark.parametrize("name", ENUM_PREDICATES)
def test_enum_change_comes_with_a_migration(name):
    assert sorted(str(v) for v in ENUM_PREDICATES[name][1]) == sorted(MIGRATED_VALUES[name]), (
        f"the values behind {name} changed: add a revision that recreates it, then update MIGRATED_VALUES"
    )
