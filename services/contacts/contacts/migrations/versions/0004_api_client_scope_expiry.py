"""API clients: scope, expiry and revocation (the platform's key ring)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdoor_platform.database

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    utc = frontdoor_platform.database.UTCDateTime()
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('expires_at', utc, nullable=True))
        batch_op.add_column(sa.Column('revoked_at', utc, nullable=True))
    op.execute("UPDATE api_clients SET revoked_at = created_at WHERE disabled")
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('disabled')


def downgrade() -> None:
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('disabled', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE api_clients SET disabled = revoked_at IS NOT NULL")
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('revoked_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('scope')
