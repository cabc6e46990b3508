"""staff accounts: the chronology page's sign-in (the kit's `frontdoor_platform.staff` columns):
staff_accounts (argon2id hash, roles, the agency as scope, an optional second factor sealed),
staff_sessions (only the token's SHA-256) and staff_password_links (one-time, only the SHA-256).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 06:55:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

from frontdoor_platform.database import UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def _text(length: int) -> sqlmodel.AutoString:
    return sqlmodel.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        'staff_accounts',
        sa.Column('staff_id', _text(64), primary_key=True),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('password_hash', _text(200), nullable=True),
        sa.Column('failed_attempts', sa.Integer(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('totp_secret', _text(200), nullable=True),
        sa.Column('totp_key_id', _text(32), nullable=True),
        sa.Column('totp_last_step', sa.Integer(), nullable=True),
        sa.Column('totp_enrolled_at', UTCDateTime(), nullable=True),
        sa.Column('roles', _text(200), nullable=False),
        sa.Column('scope', _text(80), nullable=True),
    )
    op.create_index('ix_staff_accounts_scope', 'staff_accounts', ['scope'])
    op.create_table(
        'staff_sessions',
        sa.Column('token_hash', _text(64), primary_key=True),
        sa.Column('staff_id', _text(64), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('stage', _text(16), nullable=False),
        sa.Column('csrf_token', _text(64), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
        sa.Column('code_failures', sa.Integer(), nullable=False),
        sa.Column('enrol_secret', _text(200), nullable=True),
        sa.Column('enrol_key_id', _text(32), nullable=True),
    )
    op.create_index('ix_staff_sessions_staff_id', 'staff_sessions', ['staff_id'])
    op.create_table(
        'staff_password_links',
        sa.Column('token_hash', _text(64), primary_key=True),
        sa.Column('staff_id', _text(64), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.Column('expires_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_staff_password_links_staff_id', 'staff_password_links', ['staff_id'])


def downgrade() -> None:
    op.drop_index('ix_staff_password_links_staff_id', table_name='staff_password_links')
    op.drop_table('staff_password_links')
    op.drop_index('ix_staff_sessions_staff_id', table_name='staff_sessions')
    op.drop_table('staff_sessions')
    op.drop_index('ix_staff_accounts_scope', table_name='staff_accounts')
    op.drop_table('staff_accounts')
