"""A family's view is as of the day in England when it is written, not the
day in UTC (on a real database: SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from outcomes.domain.family import Family
from outcomes.domain.thresholds import Thresholds
from outcomes.models import FamilyViewRow
from outcomes.stream.ledger import write_view


def test_a_view_written_at_23_30_utc_in_summer_is_as_of_the_next_day(engine: Engine) -> None:
    family_id = uuid.uuid4()
    now = datetime(2026, 7, 8, 23, 30, tzinfo=UTC)  # 00:30 on 9 July in England (summer time)
    with Session(for_writing(engine)) as session:
        write_view(session, Family(family_id=family_id), Thresholds(), now)
        session.commit()
    with Session(engine) as session:
        row = session.get(FamilyViewRow, family_id)
    assert row is not None
    assert json.loads(row.document)["as_of"] == "2026-07-09"
