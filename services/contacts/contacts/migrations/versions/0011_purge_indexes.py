"""purge indexes: the retention purges delete by time without a scan: ix_outbox_discarded_at (discarded
parked rows, by when they were discarded; published_at has its index) and ix_partner_records_recorded_at

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 23:21:51
"""
from collections.abc import Sequence

from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_outbox_discarded_at', 'outbox', ['discarded_at'], unique=False)
    op.create_index('ix_partner_records_recorded_at', 'partner_records', ['recorded_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_partner_records_recorded_at', table_name='partner_records')
    op.drop_index('ix_outbox_discarded_at', table_name='outbox')
