"""partner data: people's UPRN and the partner fact a person was created from; partner_records (one row per
partner record delivery applied)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('partner_records',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('event_source', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('dataset', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('fact_id', sa.Uuid(), nullable=False),
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('recorded_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('partner_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_records_fact_id'), ['fact_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_records_person_id'), ['person_id'], unique=False)

    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('uprn', sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True))
        batch_op.add_column(sa.Column('created_from_fact_id', sa.Uuid(), nullable=True))
        batch_op.create_index(batch_op.f('ix_people_uprn'), ['uprn'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_people_uprn'))
        batch_op.drop_column('created_from_fact_id')
        batch_op.drop_column('uprn')

    with op.batch_alter_table('partner_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_records_person_id'))
        batch_op.drop_index(batch_op.f('ix_partner_records_fact_id'))

    op.drop_table('partner_records')
