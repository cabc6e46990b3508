"""chronology: one row per event about a family (ids, categories and times; its facts as JSON), keyed by the
event id, for GET /v1/families/{family_id}/chronology and the chronology page

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database  # noqa: F401  (column types)


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('chronology',
    sa.Column('event_id', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('case_id', sa.Uuid(), nullable=True),
    sa.Column('contact_id', sa.Uuid(), nullable=True),
    sa.Column('agency_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('facts', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('event_id')
    )
    op.create_index(op.f('ix_chronology_family_id'), 'chronology', ['family_id'], unique=False)
    op.create_index(op.f('ix_chronology_contact_id'), 'chronology', ['contact_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_chronology_contact_id'), table_name='chronology')
    op.drop_index(op.f('ix_chronology_family_id'), table_name='chronology')
    op.drop_table('chronology')
