"""locale and time zone: how dates, times and numbers read for each person

Revision ID: 0010
Revises: 0008
Create Date: 2026-12-06 00:20:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0010'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite has it): a batch copy of contacts would drop its search triggers.
    op.add_column('contacts', sa.Column('locale', sa.String(length=10), server_default='en', nullable=False))
    op.add_column('contacts', sa.Column('time_zone', sa.String(length=64), server_default='UTC', nullable=False))


def downgrade():
    op.execute('ALTER TABLE contacts DROP COLUMN time_zone')
    op.execute('ALTER TABLE contacts DROP COLUMN locale')
