"""name_key holds the lower-cased name, which can be twice as long as the name

"İ".lower() is two code points, so a 120-character name can have a 240-character
key; a String(120) key made PostgreSQL refuse such a name with a 500.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

TABLES = ('companies', 'rooms')


def upgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('name_key', existing_type=sa.String(length=120), type_=sa.String(length=240),
                                  existing_nullable=False)


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('name_key', existing_type=sa.String(length=240), type_=sa.String(length=120),
                                  existing_nullable=False)
