"""trash: deleted companies, contacts, rooms and host links, restorable for 30 days

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 23:00:00

"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('trash_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reseller_id', sa.Integer(), nullable=False),
    sa.Column('company_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(), nullable=False),
    sa.Column('deleted_by', sa.Integer(), nullable=True),
    sa.Column('deleted_by_name', sa.String(length=300), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('top_company_id', sa.Integer(), nullable=True),
    sa.Column('top_contact_id', sa.Integer(), nullable=True),
    sa.Column('top_room_id', sa.Integer(), nullable=True),
    sa.Column('top_hosting_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['reseller_id'], ['resellers.id'], name=op.f('fk_trash_items_reseller_id_resellers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trash_items')),
    sqlite_autoincrement=True,
    )
    with op.batch_alter_table('trash_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trash_items_company_id'), ['company_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trash_items_deleted_at'), ['deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_trash_items_reseller_id'), ['reseller_id'], unique=False)


def downgrade():
    with op.batch_alter_table('trash_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trash_items_reseller_id'))
        batch_op.drop_index(batch_op.f('ix_trash_items_deleted_at'))
        batch_op.drop_index(batch_op.f('ix_trash_items_company_id'))
    op.drop_table('trash_items')
