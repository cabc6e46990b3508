"""one open case per family: the partial unique index ux_cases_one_open_per_family (family_id where is_open),
so several workers on PostgreSQL cannot open two cases for one family at the same moment.

A family that has more than one open case already (two workers raced before this revision, or 0003 reopened
an accepted case beside a newer one) first has them joined by the rule a merge of families uses
(`merge_family_cases`): the case the family accepted, else the one that started first, takes in the others'
triggers, children, concerns and level of need and keeps its clock; the others close as `merged` naming it,
and the timeline of each says so (`by`: this revision). Nothing is published: a merge announces nothing.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 03:14:22
"""
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from frontdoor_platform.database import UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

BY = "migration 0008 (one open case per family)"
_cases = sa.table('cases', sa.column('case_id', sa.Uuid()), sa.column('family_id', sa.Uuid()),
                  sa.column('status', sa.String()), sa.column('is_open', sa.Boolean()),
                  sa.column('version', sa.Integer()), sa.column('document', sa.Text()))
_timeline = sa.table('timeline', sa.column('case_id', sa.Uuid()), sa.column('at', UTCDateTime()),
                     sa.column('kind', sa.String()), sa.column('detail', sa.JSON()))


def _join_open_cases(connection: sa.Connection, family_id: uuid.UUID, now: datetime) -> None:
    from allocation.domain.families import merge_family_cases
    from allocation.store import dump_case, load_case

    documents = connection.execute(sa.select(_cases.c.document).where(_cases.c.family_id == family_id)
                                   .order_by(_cases.c.case_id)).scalars().all()
    before = [load_case(document) for document in documents]
    for old, new in zip(before, merge_family_cases(before, family_id, set()), strict=True):
        if old == new:
            continue
        connection.execute(_cases.update().where(_cases.c.case_id == new.case_id).values(
            status=new.status.value, is_open=new.is_open, document=dump_case(new), version=_cases.c.version + 1))
        if new.merged_into is not None and old.merged_into is None:
            connection.execute(_timeline.insert().values(case_id=new.case_id, at=now, kind="merged_into", detail={
                "into_case_id": str(new.merged_into), "by": BY}))
        if len(new.triggers) > len(old.triggers):
            connection.execute(_timeline.insert().values(case_id=new.case_id, at=now, kind="case_joined", detail={
                "triggers": len(new.triggers) - len(old.triggers), "by": BY}))


def upgrade() -> None:
    connection = op.get_bind()
    families = connection.execute(sa.select(_cases.c.family_id).where(_cases.c.is_open.is_(True))
                                  .group_by(_cases.c.family_id).having(sa.func.count() > 1)).scalars().all()
    now = datetime.now(UTC)
    for family_id in families:
        _join_open_cases(connection, family_id, now)
    op.create_index('ux_cases_one_open_per_family', 'cases', ['family_id'], unique=True,
                    sqlite_where=sa.text('is_open'), postgresql_where=sa.text('is_open'))


def downgrade() -> None:
    op.drop_index('ux_cases_one_open_per_family', table_name='cases')
