"""purge indexes: the retention purge deletes discarded outbox rows by when they were discarded without a
scan: ix_outbox_discarded_at (published_at has its index)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 23:21:55
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_discarded_at', 'outbox', ['discarded_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_discarded_at', table_name='outbox')
