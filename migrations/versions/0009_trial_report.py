"""rooms.converted_at: when a trial or demo room became paid (the free-trial report)

Revision ID: 0009
Revises: 0004
Create Date: 2026-12-05 23:30:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('converted_at', sa.DateTime(), nullable=True))


def downgrade():
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('converted_at')
