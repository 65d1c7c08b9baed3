"""trial notices: the reseller's and each person's switch for trial-expiry emails

The notices themselves go through the outbox, made exactly once by its unique
dedupe_key (room, kind, end date and audience; see models/notices.py).

Revision ID: 0008
Revises: 0004
Create Date: 2026-12-05 23:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (SQLite has it): a batch copy of contacts would drop its search triggers.
    op.add_column('resellers', sa.Column('trial_notices', sa.Boolean(), server_default=sa.text('true'), nullable=False))
    op.add_column('contacts', sa.Column('trial_notices', sa.Boolean(), server_default=sa.text('true'), nullable=False))


def downgrade():
    # Plain DROP COLUMN (SQLite 3.35+ has it), for the same reason: no batch copy of contacts.
    op.execute('ALTER TABLE contacts DROP COLUMN trial_notices')
    op.execute('ALTER TABLE resellers DROP COLUMN trial_notices')
