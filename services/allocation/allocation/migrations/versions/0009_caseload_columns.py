"""caseload columns: each case's lead agency, lead professional and closure time beside its document
(`lead_agency_id`, `lead_professional_ref`, `closed_at`), with the indexes an agency's caseload is read by
(its open cases; its cases closed since a quarter began). The cases allocated before this revision get them
from their documents.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 06:30:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from frontdoor_platform.database import UTCDateTime

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: Sequence[str] | None = None
depends_on: Sequence[str] | None = None

BATCH = 500
_cases = sa.table('cases', sa.column('case_id', sa.Uuid()), sa.column('status', sa.String()),
                  sa.column('document', sa.Text()), sa.column('lead_agency_id', sa.String()),
                  sa.column('lead_professional_ref', sa.String()), sa.column('closed_at', UTCDateTime()))


def _backfill(connection: sa.Connection) -> None:
    from allocation.store import load_case

    after = None
    while True:
        query = sa.select(_cases.c.case_id, _cases.c.document).where(_cases.c.status != 'open')
        if after is not None:
            query = query.where(_cases.c.case_id > after)
        rows = connection.execute(query.order_by(_cases.c.case_id).limit(BATCH)).all()
        for case_id, document in rows:
            case = load_case(document)
            if case.allocation is None:
                continue
            connection.execute(_cases.update().where(_cases.c.case_id == case_id).values(
                lead_agency_id=case.allocation.lead_agency_id,
                lead_professional_ref=case.allocation.lead_professional_ref, closed_at=case.closed_at))
        if len(rows) < BATCH:
            return
        after = rows[-1][0]


def upgrade() -> None:
    op.add_column('cases', sa.Column('lead_agency_id', sa.String(length=64), nullable=True))
    op.add_column('cases', sa.Column('lead_professional_ref', sa.String(length=64), nullable=True))
    op.add_column('cases', sa.Column('closed_at', UTCDateTime(), nullable=True))
    _backfill(op.get_bind())
    op.create_index('ix_cases_agency_open', 'cases', ['lead_agency_id', 'is_open'])
    op.create_index('ix_cases_agency_closed_at', 'cases', ['lead_agency_id', 'closed_at'])


def downgrade() -> None:
    op.drop_index('ix_cases_agency_closed_at', table_name='cases')
    op.drop_index('ix_cases_agency_open', table_name='cases')
    with op.batch_alter_table('cases') as batch:
        batch.drop_column('closed_at')
        batch.drop_column('lead_professional_ref')
        batch.drop_column('lead_agency_id')
