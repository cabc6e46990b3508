"""Enrolments from schools.enrolments.v1, on a real database (SQLite and
PostgreSQL), through the kit's consumer: how a child's school is found."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime

from aiokafka import ConsumerRecord
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.consumer import BatchConsumer
from notifications import store, subscriptions
from notifications.app import rules_from
from notifications.domain.schools import Resolution, find_school
from notifications.metrics import Metrics
from notifications.models import NotificationsTable, OutboxEvent
from notifications.settings import Settings

NOW = datetime(2026, 11, 18, 9, 0, tzinfo=UTC)


def enrolled(offset: int, upn: str, urn: str, starts: str, ends: str | None = None) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:la:test:census",
                        "type": "uk.gov.frontdoor.schools.pupil-enrolled.v1", "time": NOW.isoformat(),
                        "data": {"upn": upn, "school_urn": urn, "starts_on": starts, "ends_on": ends}}).encode()
    return ConsumerRecord("schools.enrolments.v1", 0, offset, 0, 0, None, value, None, 0, len(value), [])


def consume(engine: Engine, records: list[ConsumerRecord[bytes, bytes]]) -> list[tuple[str, str]]:
    routes = subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None)
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes,
                             engine=engine, outbox=OutboxEvent, metrics=Metrics(), clock=lambda: NOW)
    return consumer.apply_batch(records).dead_lettered


def test_a_child_with_only_a_upn_reaches_the_school_its_current_enrolment_names(engine: Engine) -> None:
    upn = "H801200001001"
    assert consume(engine, [enrolled(0, upn, "100001", "2022-09-01"), enrolled(1, upn, "100002", "2026-09-02")]) == []
    assert consume(engine, [enrolled(2, upn, "100001", "2022-09-01", "2026-07-21")]) == []  # the leaving date
    assert consume(engine, [enrolled(3, upn, "100001", "2022-09-01", "2026-07-21")]) == []  # redelivered: no change
    with Session(engine) as session:
        enrolments = store.enrolments_of(session, upn)
    found = find_school(urn=None, upn=upn, born=None, on=date(2026, 11, 18), enrolments=enrolments)
    assert (found.resolution, found.school_urn) == (Resolution.BY_ENROLMENT, "100002")
    assert len(enrolments) == 2


def test_a_bad_enrolment_is_dead_lettered_naming_the_field(engine: Engine) -> None:
    assert consume(engine, [enrolled(0, "H801200001009", "100001", "2026-09-02")]) == [
        ("schools.enrolments.v1", "invalid_data")]  # a UPN whose check letter is wrong
    with Session(engine) as session:
        [dead] = session.exec(select(OutboxEvent)).all()
    assert dead.topic == "schools.enrolments.v1.dlq"


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), NotificationsTable.metadata) == []
