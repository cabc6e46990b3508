"""the audit trail: every change made through the API or the command line (who, what, when, a directory
entry before and after, never a secret or password), append-only: triggers refuse UPDATE and DELETE (and on
PostgreSQL TRUNCATE)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08 09:30:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database
from frontdoor_platform.audit import append_only_sql, drop_append_only_sql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Uuid(), nullable=False),
    sa.Column('at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.Column('actor', sqlmodel.sql.sqltypes.AutoString(length=120), nullable=False),
    sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
    sa.Column('target', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('audit_id')
    )
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_target'), ['target'], unique=False)
    for statement in append_only_sql(op.get_bind().dialect.name, 'audit'):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only_sql(op.get_bind().dialect.name, 'audit'):
        op.execute(statement)
    with op.batch_alter_table('audit', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_target'))
        batch_op.drop_index(batch_op.f('ix_audit_at'))
    op.drop_table('audit')
