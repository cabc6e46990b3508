"""outbox parking: a row that can never be published is parked (parked_at, park_reason) and may be discarded
(discarded_at); the partial index ix_outbox_parked holds only the rows parked now, which the relay's pending
query looks up for each row's topic and key (the later rows of a parked row's key wait behind it)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

PARKED_NOW = sa.text('parked_at IS NOT NULL AND discarded_at IS NULL')


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('parked_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('park_reason', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True))
        batch_op.add_column(sa.Column('discarded_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_outbox_parked', ['topic', 'key', 'id'], unique=False,
                              sqlite_where=PARKED_NOW, postgresql_where=PARKED_NOW)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_parked')
        batch_op.drop_column('discarded_at')
        batch_op.drop_column('park_reason')
        batch_op.drop_column('parked_at')
