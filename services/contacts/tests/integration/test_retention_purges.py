"""The contacts service's retention purges on a moved clock, on a real database (SQLite and PostgreSQL): a
partner delivery's record (ids only) goes once the partner records' period has passed since it was applied,
and nothing else does (the person it matched stays); the outbox's dead letters, once published, go with the
outbox's rows; the read log after its own period, through its purge alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from sqlalchemy import text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, col, select

from contacts.models import OutboxEvent, PartnerRecordApplied, Person, ReadEntry
from contacts.retention import PURGES, purges
from frontdoor_contracts.retention import OUTBOX, PARTNER_RECORDS, default
from frontdoor_contracts.retention import READ_LOG as READ_LOG_CLASS
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import add_record
from frontdoor_platform.purge import install, outbox_purges

APPLIED = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
SCHEDULE = default()


class Moved:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def seed(engine: Engine) -> uuid.UUID:
    person_id = uuid.uuid4()
    with Session(engine) as session:
        session.add(Person(id=person_id, kind="child", given_name="Amelia", family_name="Testchild",
                           created_at=APPLIED))
        session.flush()
        for n, at in enumerate((APPLIED, APPLIED + timedelta(days=2))):
            session.add(PartnerRecordApplied(id=uuid.uuid4(), event_id=f"e{n}", event_source="urn:partner:test",
                                             dataset="attendance", fact_id=uuid.uuid4(), person_id=person_id,
                                             family_id=uuid.uuid4(), recorded_at=at))
        add_record(session, OutboxEvent, "frontdoor.contacts.v1.dlq", "ref", b"original bytes", "dlq-1", APPLIED)
        session.commit()
        session.execute(update(OutboxEvent).values(published_at=APPLIED))
        session.commit()
    return person_id


def test_partner_records_go_after_their_period_and_published_dead_letters_with_the_outbox(engine: Engine) -> None:
    person = seed(engine)
    clock, metrics = Moved(APPLIED + SCHEDULE.of(OUTBOX).period), KitMetrics("contacts")
    runner = install(metrics, engine, clock, SCHEDULE, (*outbox_purges(OutboxEvent), *PURGES))
    assert runner.run_once()[0] == {OUTBOX: 0, PARTNER_RECORDS: 0}  # exactly at the end of a period: not past it
    clock.now += timedelta(seconds=1)
    assert runner.run_once()[0] == {OUTBOX: 1, PARTNER_RECORDS: 0}  # the dead letter's copy, published a week ago
    clock.now = APPLIED + SCHEDULE.of(PARTNER_RECORDS).period + timedelta(hours=1)
    assert metrics.registry.get_sample_value("frontdoor_contacts_purge_overdue_seconds",
                                             {"class": PARTNER_RECORDS}) == 3600
    assert runner.run_once()[0] == {OUTBOX: 0, PARTNER_RECORDS: 1}
    with Session(engine) as session:
        assert [r.event_id for r in session.exec(select(PartnerRecordApplied))] == ["e1"]
        assert session.exec(select(Person).where(col(Person.id) == person)).one().given_name == "Amelia"
        assert session.exec(select(OutboxEvent)).all() == []


def test_the_read_log_goes_after_its_period_through_its_own_purge_and_nothing_else_deletes(engine: Engine) -> None:
    period = SCHEDULE.of(READ_LOG_CLASS).period
    with Session(engine) as session:
        for n, at in enumerate((APPLIED, APPLIED + timedelta(days=1))):
            session.add(ReadEntry(read_id=uuid.uuid4(), at=at, reader="client:mash", route="GET /v1/contacts/{id}",
                                  record=f"contact:{n}"))
        session.commit()
    clock, metrics = Moved(APPLIED + period + timedelta(hours=1)), KitMetrics("contacts")
    runner = install(metrics, engine, clock, SCHEDULE, purges(cast(Any, None)))
    assert runner.run_once()[0][READ_LOG_CLASS] == 1
    with Session(engine) as session:
        assert [r.record for r in session.exec(select(ReadEntry))] == ["contact:1"]
    with pytest.raises(DatabaseError, match="append-only"), engine.begin() as connection:
        connection.execute(text("DELETE FROM read_log"))  # younger than every recorded cutoff
