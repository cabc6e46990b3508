"""person keys and privacy requests: person_keys (each person's data key, sealed at rest under the contacts
service's wrapping key), family_merges (which family each merged family went into, so that a privacy
request names the merged ids too; filled from the families-merged events still in the outbox), and
people.erased_at (a person a privacy request erased)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 03:00:00
"""
import json
import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
import sqlmodel
from alembic import op

import frontdoor_platform.database

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

MERGED_TOPIC = 'contacts.families-merged.v1'


def upgrade() -> None:
    op.create_table('family_merges',
    sa.Column('merged_family_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('contact_id', sa.Uuid(), nullable=False),
    sa.Column('merged_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('merged_family_id')
    )
    with op.batch_alter_table('family_merges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_family_merges_family_id'), ['family_id'], unique=False)
    op.create_table('person_keys',
    sa.Column('person_id', sa.Uuid(), nullable=False),
    sa.Column('wrapping_key_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('nonce', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('ciphertext', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', frontdoor_platform.database.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], ),
    sa.PrimaryKeyConstraint('person_id')
    )
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', frontdoor_platform.database.UTCDateTime(), nullable=True))
    _merges_from_the_outbox()


def _merges_from_the_outbox() -> None:
    """The merges whose events the outbox still holds (published rows are kept a week): older merges are
    not known here, and a privacy request names only the families its people are in now."""
    bind = op.get_bind()
    outbox = sa.table('outbox', sa.column('payload', sa.LargeBinary), sa.column('topic', sa.String))
    merges = sa.table('family_merges', sa.column('merged_family_id', sa.Uuid()), sa.column('family_id', sa.Uuid()),
                      sa.column('contact_id', sa.Uuid()),
                      sa.column('merged_at', frontdoor_platform.database.UTCDateTime()))
    rows: dict[uuid.UUID, dict[str, object]] = {}
    for (payload,) in bind.execute(sa.select(outbox.c.payload).where(outbox.c.topic == MERGED_TOPIC)):
        try:
            data = json.loads(payload)['data']
            for merged in data['merged_family_ids']:
                rows[uuid.UUID(merged)] = {'merged_family_id': uuid.UUID(merged),
                                           'family_id': uuid.UUID(data['family_id']),
                                           'contact_id': uuid.UUID(data['contact_id']),
                                           'merged_at': datetime.fromisoformat(data['merged_at'])}
        except (ValueError, KeyError, TypeError):
            continue  # not an event this service wrote: nothing to learn from it
    if rows:
        bind.execute(sa.insert(merges), list(rows.values()))


def downgrade() -> None:
    with op.batch_alter_table('people', schema=None) as batch_op:
        batch_op.drop_column('erased_at')
    op.drop_table('person_keys')
    with op.batch_alter_table('family_merges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_family_merges_family_id'))
    op.drop_table('family_merges')
