"""A contacts service killed (SIGKILL) in the middle of a stream resumes
without losing a contact and without recording or emitting one twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import uuid
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from contacts_e2e_kit import Kafka, data_of, start_contacts, stop
from contacts_testkit import make_contact

from frontdoor_contracts.contacts import contact_id_for

pytestmark = pytest.mark.e2e
COUNT = 400
SOURCE = "urn:frontdoor:contacts-crash-test"


async def start_group_at_the_end(bootstrap: str, group: str) -> None:
    """An operator's step for a new consumer group: begin at the end, not
    at the topic's history (other tests' records)."""
    consumer = AIOKafkaConsumer("frontdoor.contacts.v1", "frontdoor.decisions.v1", bootstrap_servers=bootstrap,
                                group_id=group, enable_auto_commit=False, auto_offset_reset="latest")
    await consumer.start()
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=200)
        for tp in consumer.assignment():
            await consumer.position(tp)
        await consumer.commit({tp: await consumer.position(tp) for tp in consumer.assignment()})
    finally:
        await consumer.stop()


def recorded_count(database: Path) -> int:
    with sqlite3.connect(database) as db:
        try:
            return int(db.execute("SELECT count(*) FROM contacts").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


async def test_kill_mid_stream_loses_and_duplicates_nothing(kafka: Kafka, kafka_bootstrap: str,
                                                            tmp_path: Path) -> None:
    group = f"contacts-crash-{uuid.uuid4().hex[:8]}"
    await start_group_at_the_end(kafka_bootstrap, group)
    env = {"CONTACTS_CONSUMER_GROUP": group, "CONTACTS_SOURCE_URI": SOURCE, "CONTACTS_CONSUMER_BATCH_SIZE": "20"}
    process, service = start_contacts(tmp_path, kafka_bootstrap, env_overrides=env)
    events = [make_contact() for _ in range(COUNT)]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        for event in events:
            await producer.send("frontdoor.contacts.v1", event.model_dump_json().encode(), key=event.id.encode())
        await producer.flush()
    finally:
        await producer.stop()

    database = tmp_path / "contacts.db"
    deadline = time.monotonic() + 60
    while recorded_count(database) < COUNT // 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = recorded_count(database)
    assert 0 < killed_at < COUNT, "the kill must land mid-stream for this test to mean anything"

    process, service = start_contacts(tmp_path, kafka_bootstrap, env_overrides=env,
                                      tokens=(service.token, service.read_only_token,
                                                                   service.intake_only_token))
    try:
        expected = {str(contact_id_for(e.source, e.id)) for e in events}
        recorded = await kafka.collect(
            "contacts.recorded.v1", lambda r: json.loads(r.value or b"{}").get("source") == SOURCE,
            until=lambda found: {data_of(r)["contact_id"] for r in found} >= expected, timeout=90,
        )
        assert recorded_count(database) == COUNT
        assert {data_of(r)["contact_id"] for r in recorded} == expected  # nothing lost
        # One event id per contact: a redelivery after the kill reuses it, so consumers dedupe.
        assert len({json.loads(r.value or b"{}")["id"] for r in recorded}) == COUNT
        pending = httpx.get(f"{service.url}/metrics").text
        assert "frontdoor_contacts_outbox_pending 0.0" in pending
    finally:
        stop(process)
