"""Two workers' batches on PostgreSQL through the kit's BatchConsumer (each worker its own engine, so its own
connections), applied at the same moment and meeting at the race point (the first read of a family's cases
in each batch): batches naming the same families in opposite orders, over every trigger topic and merges.
One case per family, each event once, and neither batch fails (a deadlock would send both back to their last
commit: the families a batch names are held in one order by its first change)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from aiokafka import ConsumerRecord
from allocation_race_kit import RacePoint, at_once, failures, merge_record, patched, trigger_record
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from allocation import store, subscriptions
from allocation.app import rules_from
from allocation.metrics import Metrics
from allocation.models import CaseRow, OutboxEvent, TimelineEntry
from allocation.settings import Settings
from frontdoor_contracts import retention
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine

AT = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
Entry = tuple[str, bytes, bytes, str]


@pytest.fixture
def workers(pg_url: str) -> Iterator[list[tuple[Engine, BatchConsumer]]]:
    """Two workers: each its own engine and the service's routes, as two `consume` processes have."""
    made = []
    for _ in range(2):
        engine = build_engine(pg_url)
        routes = subscriptions.routes(rules_from(Settings(database_url=pg_url)), Metrics(), retention.default())
        made.append((engine, BatchConsumer(bootstrap="unused:9092", group="allocation", client_id="allocation",
                                           routes=routes, engine=engine, outbox=OutboxEvent, metrics=Metrics())))
    yield made
    for engine, _ in made:
        engine.dispose()


def batch(entries: list[Entry], partition: int) -> list[ConsumerRecord[bytes, bytes]]:
    return [ConsumerRecord(topic, partition, offset, 0, 0, key, value, None, len(key), len(value), [])
            for offset, (topic, key, value, _) in enumerate(entries)]


def apply_at_once(workers: list[tuple[Engine, BatchConsumer]], *batches: list[ConsumerRecord[bytes, bytes]]
                  ) -> list[object]:
    point = RacePoint(workers[0][0], parties=len(batches))
    with patched(store, "family_cases", point):
        results = at_once(point, *(lambda c=consumer, b=b: c.apply_batch(b)
                                   for (_, consumer), b in zip(workers, batches, strict=True)))
    assert point.raced or point.held
    return results


def one_case_each(engine: Engine, families: list[uuid.UUID]) -> dict[uuid.UUID, CaseRow]:
    with Session(engine) as session:
        rows = session.exec(select(CaseRow).where(col(CaseRow.family_id).in_(families))).all()
    by_family: dict[uuid.UUID, list[CaseRow]] = {}
    for row in rows:
        by_family.setdefault(row.family_id, []).append(row)
    assert {f: len(found) for f, found in by_family.items()} == dict.fromkeys(families, 1)
    return {family: found[0] for family, found in by_family.items()}


def events_and_timeline(engine: Engine, case_ids: list[uuid.UUID]) -> tuple[list[str], list[str]]:
    keys = [str(c) for c in case_ids]
    with Session(engine) as session:
        events = session.exec(select(OutboxEvent.topic).where(col(OutboxEvent.key).in_(keys))).all()
        kinds = session.exec(select(TimelineEntry.kind).where(col(TimelineEntry.case_id).in_(case_ids))).all()
    return sorted(events), sorted(kinds)


def test_two_batches_naming_the_same_families_in_opposite_orders_apply_at_once(
        workers: list[tuple[Engine, BatchConsumer]]) -> None:
    families = [uuid.uuid4() for _ in range(6)]
    kinds = ["decided", "step_down", "identified"]
    first = [trigger_record(kinds[i % 3], family, AT + timedelta(minutes=i)) for i, family in enumerate(families)]
    second = [trigger_record(kinds[(i + 1) % 3], families[i], AT + timedelta(minutes=10 + i))
              for i in reversed(range(len(families)))]
    results = apply_at_once(workers, batch(first, 0), batch(second, 1))
    assert failures(results) == []
    engine = workers[0][0]
    cases = one_case_each(engine, families)
    expected = {family: {first[i][3], second[len(families) - 1 - i][3]} for i, family in enumerate(families)}
    assert {family: {t.event_id for t in store.load_case(row.document).triggers}
            for family, row in cases.items()} == expected
    events, kinds_seen = events_and_timeline(engine, [row.case_id for row in cases.values()])
    assert events == ["allocation.case-opened.v1"] * 6
    assert kinds_seen == ["opened"] * 6 + ["trigger_attached"] * 6


def test_a_batch_of_merges_and_a_batch_of_triggers_for_the_merged_families_apply_at_once(
        workers: list[tuple[Engine, BatchConsumer]]) -> None:
    """Pairs of families found to be one while decisions for both arrive on another partition."""
    pairs = [(uuid.uuid4(), uuid.uuid4()) for _ in range(3)]
    merges = [merge_record(kept, [joined], AT + timedelta(hours=1)) for kept, joined in pairs]
    triggers = [trigger_record("decided", family, AT + timedelta(minutes=i))
                for i, family in enumerate(f for pair in reversed(pairs) for f in pair)]
    results = apply_at_once(workers, batch(merges, 0), batch(triggers, 2))
    assert failures(results) == []
    engine = workers[0][0]
    with Session(engine) as session:
        rows = session.exec(select(CaseRow).where(col(CaseRow.family_id).in_([f for p in pairs for f in p]))).all()
    assert sorted(row.family_id for row in rows if row.is_open) == sorted(kept for kept, _ in pairs)
    open_triggers = sorted(len(store.load_case(row.document).triggers) for row in rows if row.is_open)
    assert open_triggers == [2, 2, 2]  # each kept family's case holds both families' decisions
