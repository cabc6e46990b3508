"""No record can stop the kit's consumer: whatever its bytes, and whatever
its handler raises, each record is applied or dead-lettered and the valid
record after it is applied; only the database not answering is retried.
On a real SQLite database (hypothesis for the bytes)."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from hostile_records import FIXED
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kit_tables import KitOutbox, Note
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, select

from frontdoor_platform import consumer as consumer_module
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Consumed, Route, Routes

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
Record = ConsumerRecord[bytes, bytes]


def record(offset: int, value: bytes) -> Record:
    return ConsumerRecord(topic="notes.v1", partition=0, offset=offset, timestamp=0, timestamp_type=0, key=b"k",
                          value=value, checksum=None, serialized_key_size=1, serialized_value_size=len(value),
                          headers=[])


def plain_decode(raw: bytes) -> dict[str, Any]:
    """A decoder as careless as most: json.loads and a dict check, nothing caught."""
    document = json.loads(raw)
    assert isinstance(document["id"], str) and isinstance(document["text"], str)
    return dict(document)


def store(session: Session, note: dict[str, Any], where: Consumed) -> str:
    if session.get(Note, note["id"]) is None:
        session.add(Note(event_id=note["id"], text=note["text"]))
    return str(note["id"])


def kit(engine: Engine, apply: Callable[[Session, dict[str, Any], Consumed], str] = store,
        prefetch: Callable[[Session, Any], None] | None = None) -> BatchConsumer:
    routes = Routes().add("notes.v1", Route(decode=plain_decode, apply=apply, prefetch=prefetch))
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="kit", routes=routes, engine=engine,
                         outbox=KitOutbox, metrics=KitMetrics("kit"), clock=lambda: NOW)


def note(event_id: str, text: str = "hello") -> bytes:
    return json.dumps({"id": event_id, "text": text}).encode()


def stored_notes(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return {n.event_id for n in session.exec(select(Note)).all()}


def dead_reasons(engine: Engine) -> list[str]:
    with Session(engine) as session:
        rows = session.exec(select(KitOutbox).where(KitOutbox.topic == "notes.v1.dlq").order_by(KitOutbox.id)).all()
        return [dict(stored_headers(row))["dlq.reason"].decode() for row in rows]


@pytest.mark.parametrize(("name", "raw"), FIXED, ids=[name for name, _ in FIXED])
def test_every_hostile_byte_string_is_dead_lettered_and_the_next_record_applied(engine: Engine, name: str,
                                                                               raw: bytes) -> None:
    result = kit(engine).apply_batch([record(0, raw), record(1, note("after"))])
    assert len(result.dead_lettered) == 1 and len(result.handled) == 1
    assert stored_notes(engine) == {"after"}
    assert dead_reasons(engine) == ["undecodable"]


_EXAMPLES = itertools.count()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(st.one_of(st.binary(max_size=300), st.sampled_from([raw for _, raw in FIXED]),
                                 st.builds(lambda i, t: note(i, t), st.text(max_size=20), st.text(max_size=20))),
                       min_size=1, max_size=8), tag=st.uuids())
def test_any_batch_of_records_is_applied_or_dead_lettered_and_a_valid_one_after_it_is_applied(
        engine: Engine, values: list[bytes], tag: Any) -> None:
    # offsets of this example's own (the database is the test's, across examples: the same offset again would
    # be a replay, dead-lettered once and not counted again)
    first = next(_EXAMPLES) * 100
    batch = [record(first + i, value) for i, value in enumerate(values)]
    batch.append(record(first + len(values), note(f"valid-{tag}")))
    result = kit(engine).apply_batch(batch)
    assert len(result.handled) + len(result.dead_lettered) == len(batch)
    assert f"valid-{tag}" in stored_notes(engine)


def test_a_replayed_poison_record_is_dead_lettered_and_counted_once(engine: Engine) -> None:
    """After a crash the consumer reads its last batch again: the dead letter is not written, logged as new or
    counted (the dead-letter alert pages) a second time."""
    poison = [record(0, b"{not json"), record(1, note("a"))]
    assert kit(engine).apply_batch(poison).dead_lettered == [("notes.v1", "undecodable")]
    assert kit(engine).apply_batch(poison).dead_lettered == []
    with Session(engine) as session:
        assert len(session.exec(select(KitOutbox).where(KitOutbox.topic == "notes.v1.dlq")).all()) == 1


@pytest.mark.parametrize("fault", [RecursionError, KeyError, TypeError, ValueError, ZeroDivisionError])
def test_a_handler_that_fails_again_on_the_record_dead_letters_it_and_the_batch_goes_on(
        engine: Engine, fault: type[Exception]) -> None:
    def apply(session: Session, doc: dict[str, Any], where: Consumed) -> str:
        if doc["text"] == "poison":
            raise fault("boom")
        return store(session, doc, where)

    result = kit(engine, apply).apply_batch([record(0, note("a")), record(1, note("p", "poison")),
                                             record(2, note("b"))])
    assert stored_notes(engine) == {"a", "b"}
    assert result.dead_lettered == [("notes.v1", "handler_failed")]
    with Session(engine) as session:
        [dead] = session.exec(select(KitOutbox).where(KitOutbox.topic == "notes.v1.dlq")).all()
    headers = dict(stored_headers(dead))
    assert headers["dlq.message"] == f": the handler failed on this record twice ({fault.__name__}) with the " \
                                     f"database answering".encode()
    assert b"boom" not in b"".join(headers.values())  # the exception's text may quote the record: never kept


def test_a_handler_that_fails_once_and_then_succeeds_is_applied_not_dead_lettered(engine: Engine) -> None:
    failures = {"left": 2}  # once on the fast path, once in the careful re-run

    def flaky(session: Session, doc: dict[str, Any], where: Consumed) -> str:
        if doc["text"] == "flaky" and failures["left"]:
            failures["left"] -= 1
            raise ValueError("transient")
        return store(session, doc, where)

    result = kit(engine, flaky).apply_batch([record(0, note("a")), record(1, note("f", "flaky"))])
    assert stored_notes(engine) == {"a", "f"} and result.dead_lettered == []


def test_a_failing_handler_is_not_pinned_on_its_record_while_the_database_does_not_answer(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(session: Session, doc: dict[str, Any], where: Consumed) -> str:
        raise ValueError("a bug, or the database half gone")

    monkeypatch.setattr(consumer_module, "database_answers", lambda session: False)
    with pytest.raises(ValueError):
        kit(engine, broken).apply_batch([record(0, note("a"))])
    assert stored_notes(engine) == set() and dead_reasons(engine) == []


def test_the_database_down_is_retried_whole_never_dead_lettered(engine: Engine) -> None:
    def down(session: Session, doc: dict[str, Any], where: Consumed) -> str:
        raise OperationalError("SELECT 1", {}, Exception("database is locked"))

    with pytest.raises(OperationalError):
        kit(engine, down).apply_batch([record(0, note("a")), record(1, note("b"))])
    assert stored_notes(engine) == set() and dead_reasons(engine) == []


def test_a_prefetch_that_fails_on_a_batch_falls_back_to_the_careful_re_run(engine: Engine) -> None:
    def prefetch(session: Session, events: Any) -> None:
        raise KeyError("a record the bulk look-up did not expect")

    result = kit(engine, prefetch=prefetch).apply_batch([record(0, note("a")), record(1, note("b"))])
    assert stored_notes(engine) == {"a", "b"} and result.dead_lettered == []
