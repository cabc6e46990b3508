"""signing secrets at rest: the signing secrets whose rotation overlap has already ended are deleted (they can
never sign again; from now on rotation and the retention timer delete them as they expire). No schema change:
the secrets stay plain text until the `cryptography` package is in requirements.lock (issue 15)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 09:00:00.000000
"""
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import frontdoor_platform.database

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

signing_secrets = sa.table('signing_secrets', sa.column('expires_at', frontdoor_platform.database.UTCDateTime()))


def upgrade() -> None:
    expires_at = signing_secrets.c.expires_at
    op.execute(signing_secrets.delete().where(expires_at.is_not(None), expires_at <= datetime.now(UTC)))


def downgrade() -> None:
    """Nothing to undo: a deleted secret had expired and could not sign again."""
