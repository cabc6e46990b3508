"""Two workers of the notifications service (and two API processes) on PostgreSQL meeting on one decision,
the first holding its transaction open while the second runs into it: one incident read by both (a
partition moved mid-batch) makes one notification and one delivery, nothing dead-lettered; a key record
applied while another worker erases the person keeps no key; one enrolment recorded by both makes one row;
one school put by two admins at once makes one entry, and neither fails."""

from __future__ import annotations

import dataclasses
import json
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from sealed_children import ChildKeys, incident_data
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine
from frontdoor_platform.routes import Consumed, Routes
from notifications import directory, store, subscriptions
from notifications.app import rules_from
from notifications.metrics import Metrics
from notifications.migrations import migrate
from notifications.models import (
    DAChildRow,
    DeliveryRow,
    EnrolmentRow,
    NotificationRow,
    OutboxEvent,
    PersonKeyRow,
    RecipientRow,
)
from notifications.settings import Settings

REPORTED = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)  # a Friday night in term
NOW = REPORTED + timedelta(seconds=2)
CONTACT = uuid.UUID("6a7d0c52-3f1e-5b8e-9d4c-2e1f0a9b8c7d")


@pytest.fixture
def keys() -> ChildKeys:
    return ChildKeys()


def child(keys: ChildKeys, name: str, **fields: Any) -> dict[str, Any]:
    return keys.child(CONTACT, uuid.uuid5(CONTACT, name), **{
        "given_name": name, "family_name": "Testerton", "date_of_birth": "2015-09-03",
        "police_reference": "MPS/2026/041187", **fields})


def record(topic: str, offset: int, event_type: str, data: dict[str, Any], event_id: str = "e1",
           ) -> ConsumerRecord[bytes, bytes]:
    value = json.dumps({"specversion": "1.0", "id": event_id, "source": f"urn:frontdoor:{topic.split('.')[0]}",
                        "type": event_type, "time": REPORTED.isoformat(), "data": data}).encode()
    return ConsumerRecord(topic, 0, offset, 0, 0, None, value, None, 0, len(value), [])


def incident(offset: int, *children: dict[str, Any]) -> ConsumerRecord[bytes, bytes]:
    return record("contacts.da-incident-reported.v1", offset, "uk.gov.frontdoor.contacts.da-incident-reported.v1",
                  incident_data(CONTACT, list(children), "2026-11-13T21:50:00Z", REPORTED))


def with_keys(keys: ChildKeys, *children: dict[str, Any]) -> list[ConsumerRecord[bytes, bytes]]:
    return [record("contacts.person-keys.v1", n, "uk.gov.frontdoor.contacts.person-key-issued.v1",
                   keys.key_event(uuid.UUID(c["child_id"])).data.model_dump(mode="json"), event_id=f"k-{n}")
            for n, c in enumerate(children)]


def school(engine: Engine, urn: str) -> None:
    with Session(engine) as session:
        directory.put_recipient(session, urn, kind=directory.SCHOOL, name=f"School {urn}", phase="primary",
                                channel="webhook", webhook_url="http://127.0.0.1:1/hook", alert_email=None,
                                calendar=None, now=NOW)
        session.commit()


def rows(engine: Engine, table: Any) -> list[Any]:
    with Session(engine) as session:
        return list(session.exec(select(table)).all())


@pytest.fixture
def pg(postgres_server: Any) -> Iterator[Engine]:
    url = postgres_server if isinstance(postgres_server, str) else postgres_server.create_database(
        "notify_" + uuid.uuid4().hex[:12])
    built = build_engine(url)
    migrate(built)
    yield built
    built.dispose()


def _worker(engine: Engine, hold: tuple[threading.Event, threading.Event] | None = None) -> BatchConsumer:
    """The service's consumer; with `hold` (applied, release), each record's work is flushed, `applied` set,
    and the transaction kept open until `release` (the first worker, caught mid-batch)."""
    routes = subscriptions.routes(rules_from(Settings()), Metrics(), lambda: None)
    if hold is not None:
        applied, release = hold
        held = Routes()
        for topic, route in routes.by_topic.items():
            def apply(session: Session, event: Any, where: Consumed, inner: Callable[..., Any] = route.apply) -> Any:
                outcome = inner(session, event, where)
                session.flush()
                applied.set()
                assert release.wait(60)
                return outcome
            held.add(topic, dataclasses.replace(route, apply=apply))
        routes = held
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=routes, engine=engine,
                         outbox=OutboxEvent, metrics=Metrics(), clock=lambda: NOW)


def _waiting_on_a_lock(engine: Engine) -> None:
    """Until a connection waits on a lock another transaction holds (the second worker met the first)."""
    for _ in range(600):
        with engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
                                  ).scalar():
                return
        threading.Event().wait(0.05)
    raise AssertionError("the second worker never waited on the first one's rows")


def _race(first: Callable[[], Any], second: Callable[[], Any], applied: threading.Event, release: threading.Event,
          engine: Engine) -> list[Any]:
    """`first` (which sets `applied` and waits for `release` inside its transaction), then `second` once the
    first is mid-transaction; the first let go once the second waits on its rows. Both results (or errors)."""
    results: list[Any] = [None, None]

    def run(index: int, work: Callable[[], Any]) -> None:
        try:
            results[index] = work()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(0, first))]
    threads[0].start()
    assert applied.wait(60)
    threads.append(threading.Thread(target=run, args=(1, second)))
    threads[1].start()
    _waiting_on_a_lock(engine)
    release.set()
    for thread in threads:
        thread.join(60)
    return results


def test_one_incident_read_by_two_workers_at_once_makes_one_notification_and_one_delivery(
        pg: Engine, keys: ChildKeys) -> None:
    school(pg, "100001")
    amelia = child(keys, "Amelia", school_urn="100001")
    _worker(pg).apply_batch(with_keys(keys, amelia))
    applied, release = threading.Event(), threading.Event()
    results = _race(lambda: _worker(pg, (applied, release)).apply_batch([incident(1, amelia)]),
                    lambda: _worker(pg).apply_batch([incident(1, amelia)]), applied, release, pg)
    assert [result.dead_lettered for result in results] == [[], []]
    assert len(rows(pg, NotificationRow)) == 1 and len(rows(pg, DeliveryRow)) == 1
    assert len(rows(pg, DAChildRow)) == 1


def test_a_key_record_applied_while_another_worker_erases_the_person_keeps_no_key(
        pg: Engine, keys: ChildKeys) -> None:
    amelia = child(keys, "Amelia")
    [key_record] = with_keys(keys, amelia)
    _worker(pg).apply_batch([key_record])
    tombstone = dataclasses.replace(key_record, key=amelia["child_id"].encode(), value=None, offset=5)
    applied, release = threading.Event(), threading.Event()
    results = _race(lambda: _worker(pg, (applied, release)).apply_batch([tombstone]),
                    lambda: _worker(pg).apply_batch([dataclasses.replace(key_record, offset=6)]),
                    applied, release, pg)
    assert [result.dead_lettered for result in results] == [[], []]
    [row] = rows(pg, PersonKeyRow)
    assert row.erased_at is not None and row.ciphertext is None  # before the row lock: the key written back


def test_one_enrolment_recorded_by_two_workers_at_once_makes_one_row(pg: Engine) -> None:
    applied, release = threading.Event(), threading.Event()

    def record(hold: bool) -> bool:
        with Session(pg) as session:
            changed = store.record_enrolment(session, upn="H801200001001", school_urn="100001",
                                             starts_on=NOW.date(), ends_on=None, event_id=uuid.uuid4(), now=NOW)
            if hold:
                applied.set()
                assert release.wait(60)
            session.commit()
            return changed

    assert _race(lambda: record(True), lambda: record(False), applied, release, pg) == [True, False]
    assert len(rows(pg, EnrolmentRow)) == 1


def test_one_school_put_by_two_admins_at_once_makes_one_entry_and_neither_fails(pg: Engine) -> None:
    applied, release = threading.Event(), threading.Event()

    def put(name: str, hold: bool) -> bool:
        with Session(pg) as session:
            _, created = directory.put_recipient(session, "100002", kind=directory.SCHOOL, name=name,
                                                 phase="primary", channel="inbox", webhook_url=None,
                                                 alert_email=None, calendar=None, now=NOW)
            if hold:
                applied.set()
                assert release.wait(60)
            session.commit()
            return created

    assert _race(lambda: put("First", True), lambda: put("Second", False), applied, release, pg) == [True, False]
    [entry] = [r for r in rows(pg, RecipientRow) if r.recipient_id == "100002"]
    assert entry.name == "Second"  # the second waited for the first, then replaced it
