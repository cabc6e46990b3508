"""The kit's consumer loop, one batch at a time, on a real database (the
Kafka side is covered end to end by each service's tests)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from aiokafka import ConsumerRecord
from kit_tables import KitOutbox, Note
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Consumed, Route, Routes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def record(offset: int, value: bytes, topic: str = "notes.v1") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic=topic, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=b"k",
                          value=value, checksum=None, serialized_key_size=1, serialized_value_size=len(value),
                          headers=[("origin", b"\xff\x00raw")])


def decode(raw: bytes) -> dict[str, str]:
    try:
        document: dict[str, str] = json.loads(raw)
    except json.JSONDecodeError:
        raise InvalidEvent("not_json", [FieldError("", "json_invalid", "not JSON")]) from None
    return document


def apply(session: Session, note: dict[str, str], where: Consumed) -> str:
    if note["text"] == "refuse":
        raise InvalidEvent("invalid_data", [FieldError("text", "refused", "this text is refused")])
    if note["text"] == "database down":
        raise OperationalError("SELECT 1", {}, Exception("gone"))
    if session.get(Note, note["id"]) is None:  # dedupe on the event id
        session.add(Note(event_id=note["id"], text=note["text"]))
    return note["id"]


def consumer(engine: Engine) -> BatchConsumer:
    routes = Routes().add("notes.v1", Route(decode=decode, apply=apply))
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", routes=routes, engine=engine,
                         outbox=KitOutbox, metrics=KitMetrics("kit"), clock=lambda: NOW)


def note(event_id: str, text: str = "hello") -> bytes:
    return json.dumps({"id": event_id, "text": text}).encode()


def notes(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(n.event_id for n in session.exec(select(Note)).all())


def dead_letters(engine: Engine) -> list[KitOutbox]:
    with Session(engine) as session:
        return list(session.exec(select(KitOutbox).where(KitOutbox.topic == "notes.v1.dlq")).all())


def test_a_batch_is_one_transaction_and_poison_records_are_dead_lettered_with_their_bytes(engine: Engine) -> None:
    batch = [record(0, note("a")), record(1, b"{not json"), record(2, note("b", "refuse")), record(3, note("c")),
             record(4, note("a"))]
    result = consumer(engine).apply_batch(batch)
    assert notes(engine) == ["a", "c"]  # the good ones, once, though "a" came twice
    assert [reason for _, reason in result.dead_lettered] == ["not_json", "invalid_data"]
    dead = dead_letters(engine)
    assert [row.payload for row in dead] == [b"{not json", note("b", "refuse")]
    headers = dict(stored_headers(dead[1]))
    assert headers["origin"] == b"\xff\x00raw"  # the original headers, byte for byte
    assert headers["dlq.reason"] == b"invalid_data" and headers["dlq.field"] == b"text"
    assert headers["dlq.offset"] == b"2"


def test_a_redelivered_batch_changes_nothing_and_dead_letters_once(engine: Engine) -> None:
    batch = [record(0, note("a")), record(1, b"nope")]
    consumer(engine).apply_batch(batch)
    consumer(engine).apply_batch(batch)
    assert notes(engine) == ["a"] and len(dead_letters(engine)) == 1


def test_a_fault_that_is_not_the_records_rolls_the_batch_back_and_is_raised(engine: Engine) -> None:
    batch = [record(0, note("a")), record(1, note("x", "database down"))]
    with pytest.raises(OperationalError):
        consumer(engine).apply_batch(batch)
    assert notes(engine) == [] and dead_letters(engine) == []


def test_a_topic_without_a_route_is_dead_lettered_not_guessed(engine: Engine) -> None:
    result = consumer(engine).apply_batch([record(0, note("a"), topic="other.v1")])
    assert result.dead_lettered == [("other.v1", "unknown_topic")] and notes(engine) == []


def test_an_oversized_poison_record_is_dead_lettered_cut_down_with_its_key_cut_to_fit(engine: Engine) -> None:
    huge = b"{" + b"x" * 1_200_000
    poison = ConsumerRecord(topic="notes.v1", partition=0, offset=9, timestamp=0, timestamp_type=0, key=b"k" * 300,
                            value=huge, checksum=None, serialized_key_size=300, serialized_value_size=len(huge),
                            headers=[])
    consumer(engine).apply_batch([poison])
    [dead] = dead_letters(engine)
    assert len(dead.key) == 200 and len(dead.payload) == 900_000
    assert dict(stored_headers(dead))["dlq.truncated_from"] == str(len(huge)).encode()


def test_a_refused_record_takes_back_what_it_cached_in_the_session(engine: Engine) -> None:
    """A handler counts what it wrote in session.info (as allocation counts case versions); a record
    refused in the careful re-run must not leave its count behind for the next record."""
    seen: list[int] = []

    def counting(session: Session, doc: dict[str, str], where: Consumed) -> str:
        counts = session.info.setdefault("writes", {})
        counts["n"] = counts.get("n", 0) + 1
        seen.append(counts["n"])
        return apply(session, doc, where)

    routes = Routes().add("notes.v1", Route(decode=decode, apply=counting))
    kit = BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", routes=routes, engine=engine,
                        outbox=KitOutbox, metrics=KitMetrics("kit"), clock=lambda: NOW)
    kit.apply_batch([record(0, note("a")), record(1, note("b", "refuse")), record(2, note("c"))])
    # first pass: 1, 2 (refused: the careful re-run starts over), then 1, 2 undone, so "c" counts 2 again
    assert seen[-3:] == [1, 2, 2]
    assert notes(engine) == ["a", "c"]
