"""staff accounts from the kit: the key adults' page accounts, sessions and set-password links are the kit's staff
tables (frontdoor_platform.staff's column mixins, the same columns); key_adults.locked_until goes (no lockout since
the throttle: it was only ever cleared)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 07:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontdoor_platform.database

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('key_adults', schema=None) as batch_op:
        batch_op.drop_column('locked_until')


def downgrade() -> None:
    with op.batch_alter_table('key_adults', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locked_until', frontdoor_platform.database.UTCDateTime(), nullable=True))
