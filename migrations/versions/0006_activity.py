"""activity: who acted (by name), the company and a related object of each audit event, and its indexes

Revision ID: 0006
Revises: 0004
Create Date: 2026-12-05

"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = {
    'ix_audit_events_reseller': ['reseller_id', 'id'],
    'ix_audit_events_object': ['object_type', 'object_id', 'id'],
    'ix_audit_events_related': ['related_type', 'related_id', 'id'],
    'ix_audit_events_company': ['company_id', 'id'],
    'ix_audit_events_actor': ['actor_id', 'id'],
}


def upgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('related_type', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('related_id', sa.Integer(), nullable=True))
        # the composite indexes below start with these columns, so they replace them
        batch_op.drop_index('ix_audit_events_actor_id')
        batch_op.drop_index('ix_audit_events_reseller_id')
        for name, columns in INDEXES.items():
            batch_op.create_index(name, columns, unique=False)
    # events written before this revision: the actor's name as it is now, and the object's company
    op.execute("UPDATE audit_events SET actor_name = (SELECT trim(first_name || ' ' || last_name) FROM contacts "
               "WHERE contacts.id = audit_events.actor_id) WHERE actor_id IS NOT NULL")
    op.execute("UPDATE audit_events SET company_id = object_id WHERE object_type = 'Company'")
    for table, kind in (('contacts', 'Contact'), ('rooms', 'Room')):
        op.execute(f"UPDATE audit_events SET company_id = (SELECT company_id FROM {table} "
                   f"WHERE {table}.id = audit_events.object_id) WHERE object_type = '{kind}'")


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        for name in INDEXES:
            batch_op.drop_index(name)
        batch_op.create_index('ix_audit_events_reseller_id', ['reseller_id'], unique=False)
        batch_op.create_index('ix_audit_events_actor_id', ['actor_id'], unique=False)
        batch_op.drop_column('related_id')
        batch_op.drop_column('related_type')
        batch_op.drop_column('company_id')
        batch_op.drop_column('actor_name')
