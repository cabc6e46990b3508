"""person keys: each person's data key as contacts.person-keys.v1 gave it (wrapped with this service's key; a
tombstone leaves the row keyless and erased), the DA children waiting for their key (the incident as read, until
the key opens it), and notifications found by child (a tombstone or a privacy request erases them)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('person_keys',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('service_key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('ciphertext', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('issued_at', frontdoor_platform.database.UTCDateTime(), nullable=True),
    sa.Column('recorded_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('erased_at', frontdoor_platform.database.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('person_id')
    )
    op.create_table('da_children_waiting',
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('child_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('incident', sa.Text(), nullable=False),
    sa.Column('topic', sqlmodel.sql.sqltypes.AutoString(length=249), nullable=False),
    sa.Column('partition', sa.Integer(), nullable=False),
    sa.Column('record_offset', sa.BigInteger(), nullable=False),
    sa.Column('received_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('escalated_at', frontdoor_platform.database.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('contact_id', 'child_id')
    )
    with op.batch_alter_table('da_children_waiting', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_da_children_waiting_person_id'), ['person_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_da_children_waiting_received_at'), ['received_at'], unique=False)
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_child_id'), ['child_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_child_id'))
    with op.batch_alter_table('da_children_waiting', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_da_children_waiting_received_at'))
        batch_op.drop_index(batch_op.f('ix_da_children_waiting_person_id'))
    op.drop_table('da_children_waiting')
    op.drop_table('person_keys')
