"""API clients: the referrer sources an intake key may claim (comma-separated; `*` for a front-door system's
key). Keys made before this revision claim none: their contacts are refused until a new key is made with
`create-client --sources ...`.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 09:00:00.000000
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sources', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('api_clients', schema=None) as batch_op:
        batch_op.drop_column('sources')
