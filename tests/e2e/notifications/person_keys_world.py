"""Test kit: the notifications service's consumer routes on a real database,
with a school in the directory and this test's children's keys
(`sealed_children.ChildKeys`): records on contacts.person-keys.v1 and
contacts.da-incident-reported.v1 as contacts publishes them, applied through
the kit's BatchConsumer (`consume`, its batch transaction without a broker),
and the tables and metrics read back. Importable from any test (unique
module name)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from itertools import count
from typing import Any

from aiokafka import ConsumerRecord
from sealed_children import ChildKeys, incident_data
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing
from notifications import directory, subscriptions, waiting
from notifications.app import rules_from
from notifications.domain.outcome import Outcome
from notifications.metrics import Metrics
from notifications.models import OutboxEvent
from notifications.settings import Settings

REPORTED = datetime(2026, 11, 13, 22, 40, tzinfo=UTC)
NOW = REPORTED + timedelta(seconds=2)
DA, KEYS = "contacts.da-incident-reported.v1", "contacts.person-keys.v1"
DA_TYPE = "uk.gov.frontdoor.contacts.da-incident-reported.v1"
KEY_TYPE = "uk.gov.frontdoor.contacts.person-key-issued.v1"
OFFSETS = count()


def record(topic: str, value: bytes | None, key: str | None = None) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, key.encode() if key else None, value, None, 0,
                          len(value or b""), [])


def envelope(event_type: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"specversion": "1.0", "id": str(uuid.uuid4()), "source": "urn:frontdoor:contacts",
                       "type": event_type, "time": REPORTED.isoformat(), "data": data}).encode()


class World:
    """A school (URN 100001, inbox), this test's children's keys, the consumer and its metrics."""

    def __init__(self, engine: Engine, settings: Settings | None = None):
        self.engine, self.keys, self.contact = engine, ChildKeys(), uuid.uuid4()
        self.rules, self.metrics = rules_from(settings or Settings()), Metrics()
        self.erasing: list[bool] = []
        with Session(engine) as session:
            directory.put_recipient(session, "100001", kind=directory.SCHOOL, name="School", phase="primary",
                                    channel="inbox", webhook_url=None, alert_email=None, calendar=None, now=NOW)
            session.commit()

    def child(self, name: str = "Amelia", **fields: Any) -> dict[str, Any]:
        return self.keys.child(self.contact, uuid.uuid4(), given_name=name, **{"school_urn": "100001", **fields})

    def incident(self, *children: dict[str, Any]) -> ConsumerRecord[bytes, bytes]:
        data = incident_data(self.contact, list(children), "2026-11-13T21:50:00Z", REPORTED)
        return record(DA, envelope(DA_TYPE, data), str(self.contact))

    def key_data(self, child: dict[str, Any]) -> dict[str, Any]:
        """The child's key record's data as JSON (wrapped for this service with the development key)."""
        return self.keys.key_event(uuid.UUID(child["child_id"])).data.model_dump(mode="json")

    def key(self, child: dict[str, Any], **data: Any) -> ConsumerRecord[bytes, bytes]:
        return record(KEYS, envelope(KEY_TYPE, {**self.key_data(child), **data}), child["child_id"])

    def tombstone(self, child: dict[str, Any]) -> ConsumerRecord[bytes, bytes]:
        return record(KEYS, None, child["child_id"])

    def consume(self, *records: ConsumerRecord[bytes, bytes], now: datetime = NOW) -> list[tuple[str, str]]:
        """The records through the kit's batch transaction; what the kit dead-lettered. The batch's counts go
        to `self.metrics`, as after a commit; `self.erasing` says, per record handled, whether its route says
        it erased (after such a batch the kit's consumer checkpoints SQLite's write-ahead log)."""
        consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", engine=self.engine,
                                 routes=subscriptions.routes(self.rules, self.metrics, lambda: None),
                                 outbox=OutboxEvent, metrics=self.metrics, clock=lambda: now)
        result = consumer.apply_batch(list(records))
        self.erasing = [route.erased(outcome) for route, outcome in result.handled]
        for route, outcome in result.handled:
            if route.after_commit is not None:
                route.after_commit(outcome)
        return result.dead_lettered

    def rows(self, table: Any) -> list[Any]:
        with Session(self.engine) as session:
            return list(session.exec(select(table)).all())

    def dead_letters(self, topic: str = DA) -> list[OutboxEvent]:
        return [row for row in self.rows(OutboxEvent) if row.topic == f"{topic}.dlq"]

    def sample(self, name: str, **labels: str) -> float:
        return self.metrics.registry.get_sample_value(f"frontdoor_notifications_{name}", labels) or 0.0

    def sweep(self, now: datetime, wait: timedelta = timedelta(minutes=10)) -> Outcome:
        outcome = Outcome()
        with Session(for_writing(self.engine)) as session:
            waiting.sweep(session, self.rules, now, wait, outcome)
            session.commit()
        return outcome
