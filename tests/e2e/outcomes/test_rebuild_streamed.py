"""The rebuild streams (stream/rebuild.py: the input partitions merged by
broker time a chunk at a time, applied a batch at a time) and gives what
the rebuild that held every record and sorted them once gave: the same
records in the same order, the same KPI report byte for byte, the same
rows in every table, even with all but five families' pictures kept on
disk between batches (stream/pictures.py). On the real broker, with a synthetic year of its own
(2017-18, a year no other test reports on) published with broker
timestamps a few records share (so the tie-break by topic, partition and
offset decides across partitions), a record that is not an event among them."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from outcomes_e2e_kit import CONTENT_TYPE, Out
from outcomes_e2e_year import SyntheticYear
from sqlalchemy import select
from sqlalchemy.engine import Engine

from frontdoor_contracts.envelope import encode_event
from frontdoor_platform.database import build_engine
from frontdoor_platform.routes import Incoming
from outcomes.migrations import METADATA, SCHEMA
from outcomes.stream.partitions import InputPartitions
from outcomes.stream.pictures import Pictures
from outcomes.stream.processor import INPUT_TOPICS
from outcomes.stream.rebuild import Projections, replay, report_of
from outcomes.thresholds_loader import load_thresholds

pytestmark = pytest.mark.e2e
START, END = datetime(2017, 4, 1, tzinfo=UTC), datetime(2018, 4, 1, tzinfo=UTC)
NOW = END + timedelta(days=30)
SOURCE = "urn:frontdoor:outcomes"
CHUNK, BATCH = 7, 100  # records per partition at a time, applied at a time: many of each


async def publish_with_shared_timestamps(bootstrap: str, records: list[Out]) -> int:
    """In order, broker timestamps counting up one millisecond every five records (each partition's in time
    order, as a producer's clock gives them; five records of a millisecond on different topics and
    partitions), then a record that is not an event."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10)
    await producer.start()
    base = int(time.time() * 1000)
    try:
        sent = [await producer.send(out.topic, encode_event(out.event), key=out.key.encode(), headers=[CONTENT_TYPE],
                                    timestamp_ms=base + i // 5) for i, out in enumerate(records)]
        sent.append(await producer.send(records[0].topic, b"\xff not an event", key=b"bytes",
                                        timestamp_ms=base + len(records) // 5))
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return len(sent)


async def everything_sorted_once(bootstrap: str) -> list[Incoming]:
    """The rebuild before it streamed: every record of the input topics read, then one sort by broker time,
    topic, partition and offset."""
    consumer = AIOKafkaConsumer(*INPUT_TOPICS, bootstrap_servers=bootstrap, group_id=None,
                                enable_auto_commit=False, auto_offset_reset="earliest")
    await consumer.start()
    try:
        while not consumer.assignment():
            await asyncio.sleep(0.1)
        partitions = sorted(consumer.assignment())
        ends = await consumer.end_offsets(partitions)
        records: list[tuple[int, Incoming]] = []
        remaining = {tp for tp in partitions if await consumer.position(tp) < ends[tp]}
        while remaining:
            for tp, got in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                records += [(r.timestamp, Incoming(r.topic, r.partition, r.offset, r.key, r.value,
                                                   tuple(r.headers or ()))) for r in got if r.offset < ends[tp]]
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
    finally:
        await consumer.stop()
    records.sort(key=lambda r: (r[0], r[1].topic, r[1].partition, r[1].offset))
    return [incoming for _, incoming in records]


class Recorded(Projections):
    """The projections, noting the records in the order they are applied."""

    def __init__(self, engine: Engine, pictures: Pictures):
        super().__init__(engine, load_thresholds(), SOURCE, NOW, pictures)
        self.order: list[tuple[str, int, int]] = []

    def apply(self, records: Any) -> None:
        self.order += [(r.topic, r.partition, r.offset) for r in records]
        super().apply(records)


def fresh(path: Path) -> Engine:
    engine = build_engine(f"sqlite:///{path}")
    SCHEMA.migrate(engine)
    return engine


def every_row(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as connection:
        return {table.name: sorted(tuple(row) for row in connection.execute(select(table)))
                for table in METADATA.sorted_tables}


async def test_the_streamed_rebuild_applies_the_one_sorts_order_and_builds_the_same_tables(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    year = SyntheticYear(seed=2017, contact_count=500, partner_count=20, start=START, end=END)
    assert await publish_with_shared_timestamps(kafka_bootstrap, [*year.phase_a, *year.phase_b]) > 1000

    ordered = await everything_sorted_once(kafka_bootstrap)
    with Pictures(keep=len(ordered)) as every, Pictures(keep=5) as five:
        before = Recorded(fresh(tmp_path / "sorted-once.db"), every)  # every picture in memory
        for start in range(0, len(ordered), BATCH):
            before.apply(ordered[start:start + BATCH])
        families_before = before.finish()

        after = Recorded(fresh(tmp_path / "streamed.db"), five)
        async with InputPartitions(kafka_bootstrap, INPUT_TOPICS, chunk=CHUNK) as inputs:
            assert inputs.total == len(ordered), "records were added to the input topics meanwhile"
            rebuilt = await replay(inputs, after, lambda _: None, BATCH)
        families_after = after.finish()
        assert every.spilled == 0 and five.spilled > families_after // 2 and five.read_back > families_after // 2
        assert five.path.exists()
    assert not five.path.exists()

    assert after.order == before.order  # the same records, the same order, ties across partitions included
    assert rebuilt.records == len(ordered) and rebuilt.behind == 0
    assert 0 < rebuilt.peak_held <= len(inputs.partitions) * CHUNK + BATCH < len(ordered)
    assert families_after == families_before > 0
    report_before = report_of(before.engine, START, END, NOW).model_dump_json()
    assert report_of(after.engine, START, END, NOW).model_dump_json() == report_before
    assert json.loads(report_before)["contacts"]["total"] >= len(year.contacts) > 0
    rows = every_row(after.engine)
    assert rows == every_row(before.engine)
    assert any("dlq" in str(row) for row in rows["outbox"]), "the record that is not an event was not dead-lettered"
