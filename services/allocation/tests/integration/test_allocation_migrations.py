"""Migrations over cases stored by older code (SQLite and PostgreSQL): each
revision reads the documents the code before it wrote, and the cases come
out as today's queries expect."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine
from sqlmodel import Session

from allocation import store
from allocation.domain.cases import Case
from allocation.domain.triggers import Trigger
from allocation.migrations import SCHEMA, migrate
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, ClosureOutcome, OfferAnswer
from frontdoor_platform.database import UTCDateTime, build_engine

DECIDED = datetime(2026, 12, 24, 18, 30, tzinfo=UTC)
# The cases table as every revision up to 0008 has it (the columns these tests write).
OLD_CASES = sa.table("cases", sa.column("case_id", sa.Uuid()), sa.column("family_id", sa.Uuid()),
                     sa.column("status", sa.String()), sa.column("is_open", sa.Boolean()),
                     sa.column("source", sa.String()), sa.column("started_at", UTCDateTime()),
                     sa.column("due_at", UTCDateTime()), sa.column("version", sa.Integer()),
                     sa.column("document", sa.Text()))


def _accepted(agency: str = "vs-1", ref: str = "s-1") -> Case:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=uuid.uuid4(), occurred_at=DECIDED, child_ids=(uuid.uuid4(),))
    return (Case.open(trigger, opened_at=DECIDED)
            .allocate(lead_agency_id=agency, agency_kind=AgencyKind.VOLUNTARY_SECTOR, lead_professional_ref=ref,
                      allocated_by="c", allocated_at=DECIDED, at_meeting=False)
            .record_offer(DECIDED).record_answer(OfferAnswer.ACCEPTED, DECIDED))


def _up_to(engine: Engine, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(SCHEMA.folder))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def _store_as_before(engine: Engine, case: Case, status: str, is_open: bool) -> None:
    with engine.begin() as connection:
        connection.execute(OLD_CASES.insert().values(
            case_id=case.case_id, family_id=case.family_id, status=status, is_open=is_open,
            source=case.source.value, started_at=case.started_at, due_at=case.due_at, version=1,
            document=store.dump_case(case)))


def test_migration_0003_opens_cases_accepted_before_closures_existed(database_url: str) -> None:
    built = build_engine(database_url)
    try:
        _up_to(built, "0002")
        case = _accepted()
        _store_as_before(built, case, "accepted", False)  # as the code before closures stored it
        migrate(built)
        with Session(built) as session:
            assert [c.case_id for c in store.open_cases(session)] == [case.case_id]
    finally:
        built.dispose()


def test_migration_0009_gives_cases_allocated_before_it_their_caseload_columns(database_url: str) -> None:
    built = build_engine(database_url)
    try:
        _up_to(built, "0008")
        working = _accepted("vs-1", "s-1")
        closed = _accepted("vs-1", "s-2").close(ClosureOutcome.POSITIVE_OUTCOME, closed_at=DECIDED, closed_by="s-2")
        elsewhere = _accepted("school-1", "t-1")
        _store_as_before(built, working, "accepted", True)
        _store_as_before(built, closed, "closed", False)
        _store_as_before(built, elsewhere, "accepted", True)
        migrate(built)
        with Session(built) as session:
            open_cases, closed_cases = store.caseload_cases(session, DECIDED, agency="vs-1")
            assert [c.case_id for c in open_cases] == [working.case_id]
            assert [c.case_id for c in closed_cases] == [closed.case_id]
            mine, _ = store.caseload_cases(session, DECIDED, agency="vs-1", professional="s-2")
            assert mine == []
    finally:
        built.dispose()
