"""`frontdoor-outcomes rebuild`: every projection (the families' pictures,
the read model, the family views) rebuilt from the input topics from their
first offset into a database of its own, nothing published, with a
progress bar; then the KPI report of a period, to compare with the live one.

The records of every topic are read up to the end offsets seen at the
start and applied in the order the broker stored them (record timestamp,
then topic, partition and offset), which is close to the order the live
stream saw them in; the rules judge by the events' own times, so the
pictures come out the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from aiokafka import AIOKafkaConsumer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.routes import Incoming

from ..domain.family import Family
from ..domain.thresholds import Thresholds
from ..readmodel.apply import buffered
from ..readmodel.report import kpi_report
from ..readmodel.report_models import KpiReport
from . import ledger
from .processor import INPUT_TOPICS, Processor

BATCH = 2000


@dataclass(frozen=True)
class Rebuilt:
    records: int
    families: int
    read_seconds: float
    apply_seconds: float


async def read_all(bootstrap: str, topics: tuple[str, ...], advance: Callable[[int], None],
                   total: Callable[[int], None], security: KafkaSecurity = PLAINTEXT) -> list[tuple[int, Incoming]]:
    """Every record of `topics` up to their end offsets now, with its timestamp."""
    known = set(await _existing(bootstrap, security))
    consumer = AIOKafkaConsumer(*[t for t in topics if t in known], bootstrap_servers=bootstrap,
                                **security.client_kwargs(),
                                enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                                max_partition_fetch_bytes=8 * 1024 * 1024, fetch_max_bytes=64 * 1024 * 1024)
    await consumer.start()  # no group: every partition of the topics is assigned here
    try:
        for _ in range(100):
            if consumer.assignment() or not known:
                break
            await asyncio.sleep(0.1)
        partitions = sorted(consumer.assignment())
        if not partitions:
            return []
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        total(sum(ends[tp] - starts[tp] for tp in partitions))
        remaining = {tp for tp in partitions if ends[tp] > starts[tp]}
        records: list[tuple[int, Incoming]] = []
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=10_000)
            for tp, got in batch.items():
                for r in got:
                    if r.offset < ends[tp]:
                        records.append((r.timestamp, Incoming(r.topic, r.partition, r.offset, r.key, r.value,
                                                              tuple(r.headers or ()))))
                advance(len(got))
                if got and got[-1].offset >= ends[tp] - 1:
                    remaining.discard(tp)
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        return records
    finally:
        await consumer.stop()


async def _existing(bootstrap: str, security: KafkaSecurity) -> set[str]:
    probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, **security.client_kwargs())
    await probe.start()
    try:
        return set(await probe.topics())
    finally:
        await probe.stop()


def apply_all(engine: Engine, records: list[tuple[int, Incoming]], th: Thresholds, source_uri: str,
              now: datetime, advance: Callable[[int], None]) -> int:
    records.sort(key=lambda r: (r[0], r[1].topic, r[1].partition, r[1].offset))
    families: dict[str, Family] = {}
    processor = Processor(families, {}, th, source_uri, objects=True)
    for start in range(0, len(records), BATCH):
        chunk = records[start:start + BATCH]
        steps = [processor.step(incoming) for _, incoming in chunk]
        with Session(for_writing(engine)) as session:
            with buffered(session):
                ledger.record(session, steps, th, now, publish=False, views=False)
            session.commit()
        processor.commit()
        advance(len(chunk))
    final = processor.review_all(now)
    with Session(for_writing(engine)) as session:
        with buffered(session):
            ledger.record(session, [final], th, now, publish=False, views=False)
        for family in families.values():
            ledger.write_view(session, family, th, now)
        session.commit()
    processor.commit()
    return len(families)


def rebuild(bootstrap: str, engine: Engine, th: Thresholds, source_uri: str, now: datetime, *,
            show: bool = True, security: KafkaSecurity = PLAINTEXT) -> Rebuilt:
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  disable=not show) as progress:
        reading = progress.add_task("reading the topics", total=None)
        began = time.perf_counter()
        records = asyncio.run(read_all(bootstrap, INPUT_TOPICS, lambda n: progress.advance(reading, n),
                                       lambda n: progress.update(reading, total=n), security))
        read_seconds = time.perf_counter() - began
        applying = progress.add_task("rebuilding the projections", total=len(records))
        began = time.perf_counter()
        families = apply_all(engine, records, th, source_uri, now, lambda n: progress.advance(applying, n))
    return Rebuilt(len(records), families, read_seconds, time.perf_counter() - began)


def report_of(engine: Engine, start: datetime, end: datetime, now: datetime) -> KpiReport:
    with Session(engine) as session:
        return kpi_report(session, start, end, now)
