"""the read log: who read what (who: an API client or a key adult's staff id; what: <kind>:<id>; when; the
route's template), one row per record a read showed; append-only: triggers refuse UPDATE (and on PostgreSQL
TRUNCATE) and any DELETE of a row not older than a cutoff the retention purge recorded in read_log_purges

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 20:46:27
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database
from frontdoor_platform.reads import append_only_sql, drop_append_only_sql


revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('read_log_purges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('before', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('read_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('read_id', sa.Uuid(), nullable=False),
    sa.Column('at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('reader', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('route', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('record', sqlmodel.sql.sqltypes.AutoString(length=160), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('read_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_read_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_read_id'), ['read_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_read_log_record'), ['record'], unique=False)
    for statement in append_only_sql(op.get_bind().dialect.name, 'read_log'):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_sql(op.get_bind().dialect.name, 'read_log'):
        op.execute(statement)
    with op.batch_alter_table('read_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_read_log_record'))
        batch_op.drop_index(batch_op.f('ix_read_log_read_id'))
        batch_op.drop_index(batch_op.f('ix_read_log_at'))
    op.drop_table('read_log')
    op.drop_table('read_log_purges')
