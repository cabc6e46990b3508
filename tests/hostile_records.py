"""Hostile records, for the consumers' fuzz tests and the end-to-end corpus.

What an attacker or a careless partner could put on a topic: bytes that are
not JSON, JSON nested 100,000 deep, integer literals past Python's limit,
NaN, invalid UTF-8, and structured mutations of a real event (the stored
example of its type): each field in turn set to null, to a wrong type, to an
oversized string, to a huge number, to a deep nest, removed; a duplicated
key; the data swapped for another type's. Each mutation carries a fresh
event id, so deduplication can never hide what a handler would do with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import string
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from contacts_testkit import nhs_number, upn
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.contacts import DAIncidentReported, da_child_context
from frontdoor_contracts.limits import MAX_RECORD_BYTES
from frontdoor_contracts.personal import PersonKeyIssued, seal, wrap_key
from frontdoor_contracts.privacy import PrivacyRequested, sealed_context
from frontdoor_contracts.topics import all_topics
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.outbox import OutboxFields, stored_headers
from frontdoor_platform.wrapping import development_key

EXAMPLES = Path(__file__).resolve().parent.parent / "contracts" / "examples"
DEEP = 100_000
HUGE_INT = "9" * 5000  # past Python's int-conversion limit (4,300 digits)
LONG = "é" * 60_000  # 120 KB of UTF-8 in one string

FIXED: list[tuple[str, bytes]] = [
    ("empty", b""),
    ("whitespace", b" \n\t "),
    ("deep_array", b"[" * DEEP + b"]" * DEEP),
    ("deep_object", b'{"a":' * DEEP + b"1" + b"}" * DEEP),
    ("deep_unclosed", b"[" * DEEP),
    ("huge_int", b'{"specversion":"1.0","id":' + HUGE_INT.encode() + b"}"),
    ("huge_float", b'{"specversion":"1.0","id":"x","n":1e400}'),
    ("nan", b'{"specversion":"1.0","id":NaN}'),
    ("infinity", b'[Infinity,-Infinity]'),
    ("invalid_utf8", b'{"id":"\xff\xfe"}'),
    ("lone_surrogate", b'{"id":"\\ud800"}'),
    ("nul_bytes", b"\x00" * 64),
    ("null", b"null"),
    ("array", b"[]"),
    ("string", b'"a string"'),
    ("number", b"42"),
    ("true", b"true"),
    ("truncated", b'{"specversion":"1.0","id":"abc"'),
    ("big_string", json.dumps({"specversion": "1.0", "id": "x", "data": "a" * 600_000}).encode()),
]


def example(event_type: str) -> dict[str, Any]:
    """The stored example of an event type (a real, valid event)."""
    document: dict[str, Any] = json.loads((EXAMPLES / f"{event_type}.json").read_text())
    return document


def fresh(document: dict[str, Any]) -> dict[str, Any]:
    """The same event under a new id (a new idempotency key)."""
    return {**document, "id": str(uuid.uuid4())}


def _independent(value: Any, key: str = "") -> Any:
    if isinstance(value, dict):
        return {k: _independent(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_independent(v, key) for v in value]
    seed = random.randrange(10**8, 10**9)
    if key == "nhs_number" and value:
        return nhs_number(seed)
    if key == "upn" and value:
        return upn(seed)
    if key in ("given_name", "family_name") and value:
        return f"{value}{''.join(random.choices(string.ascii_lowercase, k=8))}"
    if key.endswith("_id") and isinstance(value, str):
        with contextlib.suppress(ValueError):
            uuid.UUID(value)
            return str(uuid.uuid4())
    if key in ("record_ref", "uprn") and isinstance(value, str):
        return str(random.randrange(10**11, 10**12))
    return value


EXAMPLE_DATA_KEY = bytes(range(32))  # the key the examples' sealed fields are sealed with (published)


def _resealed(event_type: str, data: dict[str, Any]) -> dict[str, Any]:
    """Sealed values bound to the ids `_independent` replaced, sealed again for the new ids: a DA child's
    fields with the examples' data key, a person's key wrapped and a request's share sealed with each
    service's development wrapping key (what the services use when nothing is set)."""
    def dumped(model: Any) -> dict[str, Any]:
        return json.loads(model.model_dump_json())
    if event_type == DAIncidentReported.EVENT_TYPE:
        contact = uuid.UUID(data["contact_id"])
        for child in data["children"]:
            person = uuid.UUID(child["child_id"])
            fields = {"given_name": "Amelia", "family_name": "Testerton", "date_of_birth": "2015-09-03",
                      "upn": None, "police_reference": "MPS/2025/041187"}
            child["personal"] = dumped(seal(EXAMPLE_DATA_KEY, person, fields, da_child_context(contact, person)))
    elif event_type == PersonKeyIssued.EVENT_TYPE:
        person = uuid.UUID(data["person_id"])
        data["wrapped"] = {service: dumped(wrap_key(service, "development", development_key(service).key, person,
                                                    EXAMPLE_DATA_KEY)) for service in data["wrapped"]}
    elif event_type == PrivacyRequested.EVENT_TYPE:
        request = uuid.UUID(data["request_id"])
        data["sealed_for"] = {service: dumped(seal(development_key(service).key, request, {"upns": []},
                                                   sealed_context(request, service)))
                              for service in data["sealed_for"]}
    return data


def independent(document: dict[str, Any]) -> dict[str, Any]:
    """The example under a new id and new identities (people, families, cases, records): a valid event that
    nothing the hostile mutations of the same example left behind can match or conflict with (sealed values
    sealed again for the new ids)."""
    return fresh({**document, "data": _resealed(document["type"], _independent(document["data"]))})


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every place in a document, deepest last."""
    if isinstance(value, dict):
        for key, inner in value.items():
            yield (*path, key)
            yield from _paths(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:2]):
            yield (*path, index)
            yield from _paths(inner, (*path, index))


def _replaced(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return copy


def _removed(document: Any, path: tuple[Any, ...]) -> Any:
    copy = json.loads(json.dumps(document))
    target = copy
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return copy


_MARK = "\u2063hostile\u2063"
_RAW = {  # values JSON cannot carry as Python objects: spliced into the text
    "huge_int": HUGE_INT,
    "nan": "NaN",
    "deep": "[" * DEEP + "]" * DEEP,
    "huge_negative": "-" + HUGE_INT,
}


def _with_raw(document: Any, path: tuple[Any, ...], raw: str) -> bytes:
    return json.dumps(_replaced(document, path, _MARK)).replace(json.dumps(_MARK), raw).encode()


def mutations(event: dict[str, Any]) -> list[tuple[str, bytes]]:
    """Structured mutations of a real event, each under a fresh id, named `<kind>:<path>`."""
    found: list[tuple[str, bytes]] = []
    for path in _paths(event):
        if path == ("id",):
            continue
        name = ".".join(str(p) for p in path)
        doc = fresh(event)
        variants: list[tuple[str, Any]] = [
            ("null", None), ("wrong_type_list", [1, "two", None]), ("wrong_type_object", {"x": {"y": []}}),
            ("wrong_type_number", 3.5), ("wrong_type_bool", True), ("oversized_string", LONG), ("empty", ""),
            ("negative", -1),
        ]
        found += [(f"{kind}:{name}", encode(_replaced(doc, path, value))) for kind, value in variants]
        found += [(f"{kind}:{name}", _with_raw(doc, path, raw)) for kind, raw in _RAW.items()]
        if isinstance(path[-1], str):
            found.append((f"removed:{name}", encode(_removed(doc, path))))
    doc = fresh(event)
    text = json.dumps(doc)
    found.append(("duplicate_key:id", ('{"id": "' + str(uuid.uuid4()) + '", ' + text[1:]).encode()))
    found.append(("duplicate_key:data", (text[:-1] + ', "data": {"x": 1}}').encode()))
    found.append(("data_of_another_type", encode({**fresh(event), "data": example(
        "uk.gov.frontdoor.schools.pupil-enrolled.v1")["data"]})))
    found.append(("type_of_another_event", encode({**fresh(event), "type": "uk.gov.frontdoor.other.v1"})))
    return found


def corpus(event_type: str) -> list[tuple[str, bytes]]:
    """The fixed hostile bytes and every structured mutation of the type's example."""
    return [*FIXED, *mutations(example(event_type))]


def hostile(event_type: str) -> st.SearchStrategy[bytes]:
    """hypothesis: arbitrary bytes, arbitrary JSON, or a structured mutation of the type's example."""
    json_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=50),
        lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
        max_leaves=30)
    named = mutations(example(event_type))
    return st.one_of(
        st.binary(max_size=500),
        json_values.map(encode),
        st.sampled_from([raw for _, raw in FIXED]),
        st.sampled_from([raw for _, raw in named]),
    )


def event_type_of(topic: str) -> str:
    [spec] = [spec for spec in all_topics() if spec.name == topic]
    assert spec.event is not None
    return spec.event.EVENT_TYPE


def consumer_record(topic: str, offset: int, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(topic=topic, partition=0, offset=offset, timestamp=0, timestamp_type=0, key=b"k",
                          value=value, checksum=None, serialized_key_size=1, serialized_value_size=len(value),
                          headers=[])


def dead_lettered(engine: Engine, outbox: type[OutboxFields], topic: str) -> dict[int, str]:
    """offset → reason of the records of `topic` that went to its dead-letter topic."""
    with Session(engine) as session:
        rows = session.exec(select(outbox).where(col(outbox.topic) == f"{topic}.dlq")).all()
    return {int(dict(stored_headers(row))["dlq.offset"]): dict(stored_headers(row))["dlq.reason"].decode()
            for row in rows}


def check_consumer(consumer: BatchConsumer, engine: Engine, outbox: type[OutboxFields], topic: str,
                   values: list[bytes], start: int = 0) -> None:
    """The records, then a valid one, in one batch: each applied or dead-lettered, the valid one applied."""
    batch = [consumer_record(topic, start + i, value) for i, value in enumerate(values)]
    batch.append(consumer_record(topic, start + len(values), encode(independent(example(event_type_of(topic))))))
    result = consumer.apply_batch(batch)
    assert len(result.handled) + len(result.dead_lettered) == len(batch)
    dead = dead_lettered(engine, outbox, topic)
    assert start + len(values) not in dead, "the valid record after the hostile ones was dead-lettered"
    fixed = {raw for _, raw in FIXED}
    assert all(start + i in dead for i, raw in enumerate(values) if raw in fixed), "a fixed hostile record applied"


# --- end to end: a service on a real broker -------------------------------------------------------------


class ReadyWatch:
    """Polls /readyz in a thread, counting answers that were not 200."""

    def __init__(self, url: str):
        self.url, self.polls, self.not_ready = url, 0, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = httpx.get(f"{self.url}/readyz", timeout=5.0).status_code
            except httpx.HTTPError:
                status = 0
            self.polls += 1
            self.not_ready += status != 200
            time.sleep(0.25)

    def __enter__(self) -> ReadyWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def hostile_for(topic: str) -> list[bytes]:
    """The fixed hostile bytes and every fourth structured mutation of the topic's example."""
    return [raw for _, raw in FIXED] + [raw for _, raw in mutations_of(topic)[::4]]


def mutations_of(topic: str) -> list[tuple[str, bytes]]:
    return mutations(example(event_type_of(topic)))


async def publish_all(bootstrap: str, records: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                                max_request_size=MAX_RECORD_BYTES)
    await producer.start()
    try:
        sent = [await producer.send(topic, value, key=str(i).encode()) for i, (topic, value) in enumerate(records)]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
