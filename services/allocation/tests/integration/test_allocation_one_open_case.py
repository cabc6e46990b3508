"""One open case per family, kept by the database (SQLite and PostgreSQL): the partial unique index refuses a
second open case for a family, whatever the code above it does; migration 0008 joins the open cases of a
family that had more than one before it (by the rule a merge uses) and then makes the index."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from allocation import store
from allocation.domain.cases import Case
from allocation.domain.triggers import Trigger
from allocation.migrations import SCHEMA, migrate
from allocation.models import CaseRow, TimelineEntry
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, OfferAnswer
from frontdoor_platform.database import UTCDateTime, build_engine, for_writing

AT = datetime(2026, 10, 5, 11, 0, tzinfo=UTC)
OLD_CASES = sa.table("cases", *(sa.column(name, kind) for name, kind in (
    ("case_id", sa.Uuid()), ("family_id", sa.Uuid()), ("status", sa.String()), ("is_open", sa.Boolean()),
    ("source", sa.String()), ("started_at", UTCDateTime()), ("due_at", UTCDateTime()), ("version", sa.Integer()),
    ("document", sa.Text()))))


def opened(family: uuid.UUID, at: datetime) -> Case:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:frontdoor:contacts",
                      event_id=str(uuid.uuid4()), family_id=family, occurred_at=at, child_ids=(uuid.uuid4(),))
    return Case.open(trigger, opened_at=at)


def row(case: Case) -> CaseRow:
    return CaseRow(case_id=case.case_id, family_id=case.family_id, status=case.status.value, is_open=case.is_open,
                   source=case.source.value, started_at=case.started_at, due_at=case.due_at,
                   document=store.dump_case(case))


def test_a_second_open_case_for_a_family_is_refused_by_the_database(engine: Engine) -> None:
    family = uuid.uuid4()
    first, second = opened(family, AT), opened(family, AT + timedelta(hours=1))
    with Session(for_writing(engine)) as session:
        assert store.insert_case(session, first)
        assert not store.insert_case(session, second)  # inserted nothing
        assert not store.insert_case(session, first)  # nor the same case twice
        session.commit()
    with Session(for_writing(engine)) as session:
        session.add(row(second))
        with pytest.raises(IntegrityError):
            session.flush()
    closed = first.allocate(lead_agency_id="vs-1", agency_kind=AgencyKind.VOLUNTARY_SECTOR,
                            lead_professional_ref="s-1", allocated_by="c", allocated_at=AT, at_meeting=False)
    closed = closed.record_offer(AT).record_answer(OfferAnswer.DECLINED, AT)
    with Session(for_writing(engine)) as session:
        store.get_case(session, first.case_id)
        store.save_case(session, closed)  # a declined offer: not open
        assert store.insert_case(session, second)  # so the family's next case opens
        session.commit()


def test_migration_0008_joins_the_open_cases_of_a_family_that_had_two(database_url: str) -> None:
    built = build_engine(database_url)
    try:
        config = Config()
        config.set_main_option("script_location", str(SCHEMA.folder))
        with built.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "0007")
        family, alone = uuid.uuid4(), uuid.uuid4()
        earlier, later, other = opened(family, AT), opened(family, AT + timedelta(days=2)), opened(alone, AT)
        with built.begin() as connection:  # as two workers racing before 0008 could leave them
            for case in (later, earlier, other):  # the columns of the cases table before 0009
                connection.execute(OLD_CASES.insert().values(
                    case_id=case.case_id, family_id=case.family_id, status=case.status.value, is_open=case.is_open,
                    source=case.source.value, started_at=case.started_at, due_at=case.due_at, version=1,
                    document=store.dump_case(case)))
        migrate(built)
        with Session(built) as session:
            rows = {r.case_id: r for r in session.exec(select(CaseRow)).all()}
            kept = store.get_case(session, earlier.case_id)
            joined = store.get_case(session, later.case_id)
            kinds = {(e.case_id, e.kind) for e in session.exec(select(TimelineEntry)).all()}
        assert [r.case_id for r in rows.values() if r.is_open and r.family_id == family] == [earlier.case_id]
        assert rows[later.case_id].status == "merged" and rows[other.case_id].is_open
        assert kept is not None and kept.due_at == earlier.due_at  # the earlier start keeps the clock
        assert {t.event_id for t in kept.triggers} == {t.event_id for t in (*earlier.triggers, *later.triggers)}
        assert joined is not None and joined.merged_into == earlier.case_id
        assert kinds == {(later.case_id, "merged_into"), (earlier.case_id, "case_joined")}
    finally:
        built.dispose()
