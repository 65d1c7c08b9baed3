"""list sort indexes: (reseller_id, column, id) for each sortable plain column

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-05 23:15:00

"""
from alembic import op

revision = '0007'
down_revision = '0009'
branch_labels = None
depends_on = None

# A frozen copy of models.list_index.SORT_COLUMNS.
SORT_COLUMNS = {
    "companies": ("type", "status", "branded", "created_at"),
    "contacts": ("email", "state", "created_at"),
    "rooms": ("product_type", "status", "created_at"),
}


def upgrade():
    for table, cols in SORT_COLUMNS.items():
        for col in cols:
            op.create_index(f"ix_{table}_sort_{col}", table, ["reseller_id", col, "id"], unique=False)
    # Contacts by name (a frozen copy of models.search_index.SORT_NAME)
    op.execute("CREATE INDEX IF NOT EXISTS ix_search_contacts_sort_name ON contacts "
               "(reseller_id, lower(last_name || ' ' || first_name), id)")
    # SQLite plans by the statistics ANALYZE left (the scale seed runs it): an index without them looks
    # better than it is, and sorted lists went to the wrong index. Keep them complete where there are any.
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" and bind.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first():
        for table in SORT_COLUMNS:
            op.execute(f"ANALYZE {table}")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_search_contacts_sort_name")
    for table, cols in SORT_COLUMNS.items():
        for col in cols:
            op.drop_index(f"ix_{table}_sort_{col}", table_name=table)
