"""partial discarded index: ix_outbox_discarded_at holds only the discarded rows (the purge's), so SQLite's
planner, which has no statistics, never takes it for the relay's `discarded_at IS NULL` (every row matches
that): the relay's three queries a batch walked the whole outbox, slower as it grew

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

DISCARDED = sa.text('discarded_at IS NOT NULL')


def upgrade() -> None:
    op.drop_index('ix_outbox_discarded_at', table_name='outbox')
    op.create_index('ix_outbox_discarded_at', 'outbox', ['discarded_at'], unique=False,
                    sqlite_where=DISCARDED, postgresql_where=DISCARDED)


def downgrade() -> None:
    op.drop_index('ix_outbox_discarded_at', table_name='outbox')
    op.create_index('ix_outbox_discarded_at', 'outbox', ['discarded_at'], unique=False)
