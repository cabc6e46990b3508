"""delivery retries: who sent a failed delivery again, when, and the attempts before

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 03:20:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database  # noqa: F401  (column types)


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retried_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('retried_by', sqlmodel.sql.sqltypes.AutoString(length=80), nullable=True))
        batch_op.add_column(sa.Column('attempts_before_retry', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_column('attempts_before_retry')
        batch_op.drop_column('retried_by')
        batch_op.drop_column('retried_at')
