"""unreadable person keys: person_keys.unreadable, why a key record this service could not unwrap is not held
(no_key_for_service, unknown_key_id, does_not_unwrap); the row keeps no key material

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:00:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('person_keys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unreadable', sqlmodel.sql.sqltypes.AutoString(length=30), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('person_keys', schema=None) as batch_op:
        batch_op.drop_column('unreadable')
