"""The kit's answer to a privacy request, on a real database: once per request and service (a replay adds
nothing), access exports what the service holds and the reads of the people's records sealed to the
requester alone, erasure touches only the classes the schedule lets it (and none when the request says a
safeguarding referral keeps them), a class with nothing personal is kept with that reason, a share sealed
for the service opens with its key and a broken one is the record's fault; tombstones travel through the
outbox as null values (to the real broker) and reach a route's `apply` instead of being poison."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from kit_tables import KitOutbox, KitTable
from parking_broker import create_topic, records_on, started_publisher
from sqlalchemy.engine import Engine
from sqlalchemy.orm import registry
from sqlmodel import Session, SQLModel, select

from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.personal import new_data_key, new_reply_keys, open_reply, seal
from frontdoor_contracts.privacy import (
    ClassAction,
    PrivacyAnswered,
    PrivacyKind,
    PrivacyRequested,
    reply_context,
    sealed_context,
)
from frontdoor_contracts.retention import default
from frontdoor_contracts.topics import PRIVACY_REPLIES
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import OutboxRelay, add_tombstone
from frontdoor_platform.privacy import NOTHING_PERSONAL, Holding, Responder, answer_id
from frontdoor_platform.reads import ReadFields, ReadPurgeFields, ReadTables, record_of
from frontdoor_platform.routes import Consumed, Route, Routes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHILD, FAMILY, CONTACT = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()


class ReadTable(SQLModel, registry=registry()):
    pass


class PrivacyReads(ReadFields, ReadTable, table=True):
    __tablename__ = "read_log"


class PrivacyReadPurges(ReadPurgeFields, ReadTable, table=True):
    __tablename__ = "read_log_purges"


READS = ReadTables(PrivacyReads, PrivacyReadPurges)


class Hooks:
    """A service holding a child's notification (personal) and its deliveries (ids only)."""

    def __init__(self) -> None:
        self.held_rows: dict[str, list[dict[str, Any]]] = {
            "notifications": [{"child_id": str(CHILD), "given_name": "Amelia"}],
            "case_records": [{"delivery_id": "d1"}],
            "enrolments": [],
        }
        self.erased: list[frozenset[str]] = []
        self.shared: list[Mapping[str, Any] | None] = []

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding:
        self.shared.append(shared)
        return Holding(classes={k: list(v) for k, v in self.held_rows.items()}, read_records=["notification:n1"])

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]:
        self.erased.append(classes)
        return {"notifications": 1} if "notifications" in classes else {}

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]:
        return {"notifications": 1} if "notifications" in classes else {}


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    KitTable.metadata.create_all(built)
    ReadTable.metadata.create_all(built)
    yield built
    built.dispose()


def request(kind: PrivacyKind, reply_key: str, **more: Any) -> PrivacyRequested:
    return PrivacyRequested(request_id=uuid.uuid4(), kind=kind, requested_by="dpo", requested_at=NOW,
                            reply_key=reply_key, person_ids=[CHILD], family_ids=[FAMILY], contact_ids=[CONTACT],
                            **more)


def responder(hooks: Hooks, key: bytes | None = None) -> Responder:
    return Responder(service="notifications", source="urn:frontdoor:notifications", hooks=hooks,
                     schedule=default(), reads=READS, outbox=KitOutbox, wrapping_key=lambda: key)


def answers(engine: Engine) -> list[PrivacyAnswered]:
    with Session(engine) as session:
        rows = session.exec(select(KitOutbox).where(KitOutbox.topic == PRIVACY_REPLIES.name)).all()
        return [parse_event(row.payload, PrivacyAnswered).data for row in rows]


def test_access_exports_what_is_held_and_the_reads_sealed_to_the_requester_once(db: Engine) -> None:
    private, public = new_reply_keys()
    with Session(db) as session:
        for record in (record_of("person", CHILD), "notification:n1", record_of("person", uuid.uuid4())):
            session.add(PrivacyReads(read_id=uuid.uuid4(), at=NOW, reader="client:schools-portal",
                                     route="GET /v1/x/{id}", record=record))
        session.commit()
    asked, hooks = request(PrivacyKind.ACCESS, public), Hooks()
    with Session(db) as session:
        assert responder(hooks).answer(session, asked, NOW) is not None
        assert responder(hooks).answer(session, asked, NOW) is None  # a replay: answered already
        session.commit()
    [answer] = answers(db)
    actions = {a.retention_class: (a.action, a.records) for a in answer.classes}
    assert actions == {"notifications": (ClassAction.EXPORTED, 1), "case_records": (ClassAction.EXPORTED, 1),
                       "enrolments": (ClassAction.NONE_HELD, 0), "read_log": (ClassAction.EXPORTED, 2)}
    assert answer.part is not None and "Amelia" not in answer.part.model_dump_json()
    part = open_reply(private, answer.part, reply_context(asked.request_id, "notifications"))
    assert part["classes"]["notifications"] == [{"child_id": str(CHILD), "given_name": "Amelia"}]
    assert sorted(r["record"] for r in part["reads"]) == sorted([record_of("person", CHILD), "notification:n1"])
    with Session(db) as session:
        ids = session.exec(select(KitOutbox.event_id)).all()
    assert ids == [answer_id(asked.request_id, "notifications")]


def test_erasure_touches_only_what_the_schedule_lets_it_and_says_why_the_rest_is_kept(db: Engine) -> None:
    hooks = Hooks()
    hooks.held_rows["audit"] = [{"id": "a1"}]  # the schedule keeps audit records
    with Session(db) as session:
        responder(hooks).answer(session, request(PrivacyKind.ERASE, new_reply_keys()[1]), NOW)
        session.commit()
    assert hooks.erased == [frozenset({"notifications", "case_records"})]
    by_class = {a.retention_class: a for a in answers(db)[0].classes}
    assert by_class["notifications"].action is ClassAction.ERASED
    assert by_class["audit"].action is ClassAction.KEPT
    assert by_class["audit"].reason == default().of("audit").kept_because
    assert by_class["case_records"].action is ClassAction.KEPT  # nothing personal to erase there
    assert by_class["case_records"].reason == NOTHING_PERSONAL
    assert by_class["enrolments"].action is ClassAction.NONE_HELD
    assert answers(db)[0].part is None


def test_a_safeguarding_referral_keeps_every_class(db: Engine) -> None:
    hooks = Hooks()
    refused = request(PrivacyKind.ERASE, new_reply_keys()[1], erasure_refused="a safeguarding referral is kept")
    with Session(db) as session:
        responder(hooks).answer(session, refused, NOW)
        session.commit()
    assert hooks.erased == []
    kept = [a for a in answers(db)[0].classes if a.records]
    assert kept and all(a.action is ClassAction.KEPT and a.reason == "a safeguarding referral is kept" for a in kept)


def test_the_service_share_opens_with_its_key_and_a_broken_one_is_the_records_fault(db: Engine) -> None:
    key, hooks = new_data_key(), Hooks()
    asked = request(PrivacyKind.RECTIFY, new_reply_keys()[1])
    share = seal(key, asked.request_id, {"upns": ["A123"]}, sealed_context(asked.request_id, "notifications"))
    asked = asked.model_copy(update={"sealed_for": {"notifications": share}})
    with Session(db) as session:
        responder(hooks, key).answer(session, asked, NOW)
        session.commit()
    assert hooks.shared == [{"upns": ["A123"]}]
    assert {a.retention_class: a.action for a in answers(db)[0].classes}["notifications"] is ClassAction.RECTIFIED
    other = asked.model_copy(update={"request_id": uuid.uuid4()})  # the share is bound to its own request
    with Session(db) as session, pytest.raises(InvalidEvent) as refused:
        responder(hooks, key).answer(session, other, NOW)
    assert refused.value.reason == "sealed_share_broken" and "A123" not in str(refused.value.errors)


def tombstone_record(offset: int, key: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic="keys.v1", partition=0, offset=offset, timestamp=0, timestamp_type=0, key=key,
                          value=None, checksum=None, serialized_key_size=len(key), serialized_value_size=0,
                          headers=[])


def test_a_tombstone_reaches_apply_on_a_route_that_takes_them_and_is_poison_elsewhere(engine: Engine) -> None:
    seen: list[str] = []

    def apply(session: Session, event: Any, where: Consumed) -> None:
        seen.append(event)

    def consumer(route: Route[Any, Any]) -> BatchConsumer:
        return BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", engine=engine, outbox=KitOutbox,
                             routes=Routes().add("keys.v1", route), metrics=KitMetrics("kit"), clock=lambda: NOW)

    taking = Route(decode=lambda raw: json.loads(raw), apply=apply, tombstone=lambda key: f"erased:{key.decode()}")
    result = consumer(taking).apply_batch([tombstone_record(0, b"p1")])
    assert seen == ["erased:p1"] and not result.dead_lettered
    refusing = Route(decode=lambda raw: json.loads(raw), apply=apply)
    assert consumer(refusing).apply_batch([tombstone_record(1, b"p2")]).dead_lettered == [("keys.v1", "undecodable")]
    assert seen == ["erased:p1"]


async def test_a_tombstone_in_the_outbox_is_published_as_a_null_value(db: Engine, kafka_bootstrap: str) -> None:
    topic = await create_topic(kafka_bootstrap)
    with Session(db) as session:
        add_tombstone(session, KitOutbox, topic, "person-1", "tomb-1", NOW)
        session.commit()
    publisher = await started_publisher(kafka_bootstrap)
    try:
        await OutboxRelay(db, KitOutbox, publisher, KitMetrics("kit"), batch_size=10, clock=lambda: NOW
                          ).publish_pending()
    finally:
        await publisher.stop()
    [published] = await records_on(kafka_bootstrap, topic)
    assert published.key == b"person-1" and published.value is None
    assert all(name != "frontdoor-tombstone" for name, _ in published.headers)


def test_a_request_older_than_the_outbox_keeps_answers_is_not_answered_again_but_an_erasure_is_applied(
        db: Engine) -> None:
    """An access or rectify answer's outbox row may be purged already (7 days): a replay must not answer
    again; an erasure read that late (a service down a week) is still applied: erasing twice changes nothing."""
    hooks = Hooks()
    late = NOW + default().of("outbox").period + timedelta(seconds=1)
    with Session(db) as session:
        assert responder(hooks).answer(session, request(PrivacyKind.RECTIFY, new_reply_keys()[1]), late) is None
        session.commit()
    assert answers(db) == []
    with Session(db) as session:
        assert responder(hooks).answer(session, request(PrivacyKind.ERASE, new_reply_keys()[1]), late) is not None
        session.commit()
    assert hooks.erased == [frozenset({"notifications", "case_records"})]


def test_a_records_own_tombstone_header_does_not_make_its_dead_letter_a_tombstone(engine: Engine) -> None:
    """Only the outbox marks a tombstone: a sender's record carrying the marker is dead-lettered with its
    bytes (published as received), not turned into a null value that erases the evidence."""
    from frontdoor_platform.outbox_table import TOMBSTONE_HEADER, outbound_value, stored_headers

    hostile = ConsumerRecord(topic="keys.v1", partition=0, offset=7, timestamp=0, timestamp_type=0, key=b"p1",
                             value=b"not json", checksum=None, serialized_key_size=2, serialized_value_size=8,
                             headers=[(TOMBSTONE_HEADER, b"1")])
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", engine=engine, outbox=KitOutbox,
                             routes=Routes().add("keys.v1", Route(decode=lambda raw: json.loads(raw),
                                                                  apply=lambda s, e, w: None)),
                             metrics=KitMetrics("kit"), clock=lambda: NOW)
    assert consumer.apply_batch([hostile]).dead_lettered == [("keys.v1", "undecodable")]
    with Session(engine) as session:
        [row] = session.exec(select(KitOutbox)).all()
    value, headers = outbound_value(row.payload, stored_headers(row))
    assert value == b"not json" and all(name != TOMBSTONE_HEADER for name, _ in headers)


def test_an_export_too_large_for_one_answer_leaves_out_the_oldest_reads_and_says_how_many(db: Engine) -> None:
    """A family read thousands of times over six years: the part still fits one answer record (the issue's
    export is answered, never dead-lettered), the newest reads kept, `left_out` counting the rest."""
    private, public = new_reply_keys()
    with Session(db) as session:
        for i in range(6000):
            session.add(PrivacyReads(read_id=uuid.uuid4(), at=NOW, reader=f"client:portal-{i:05d}",
                                     route="GET /v1/families/{family_id}", record=record_of("family", FAMILY)))
        session.commit()
    asked = request(PrivacyKind.ACCESS, public)
    with Session(db) as session:
        responder(Hooks()).answer(session, asked, NOW)
        session.commit()
    [answer] = answers(db)
    assert answer.part is not None
    part = open_reply(private, answer.part, reply_context(asked.request_id, "notifications"))
    assert 0 < part["left_out"]["reads"] < 6000 and len(part["reads"]) + part["left_out"]["reads"] == 6000
    assert part["reads"][-1]["reader"] == "client:portal-05999"  # the newest kept
    assert part["classes"]["notifications"] == [{"child_id": str(CHILD), "given_name": "Amelia"}]
