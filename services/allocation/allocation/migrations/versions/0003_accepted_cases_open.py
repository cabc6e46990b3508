"""accepted cases are open until closed

An accepted case is being worked with until its lead agency closes it with an
outcome category (status `closed`, allocation.case-closed.v1), so a further
trigger for the family joins it. Cases accepted before closures existed were
stored as not open; this marks them open. No column changes: `closed` fits
the status column.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

_cases = sa.table('cases', sa.column('status', sa.String()), sa.column('is_open', sa.Boolean()))


def upgrade() -> None:
    op.execute(_cases.update().where(_cases.c.status == 'accepted').values(is_open=True))


def downgrade() -> None:
    op.execute(_cases.update().where(_cases.c.status == 'accepted').values(is_open=False))
