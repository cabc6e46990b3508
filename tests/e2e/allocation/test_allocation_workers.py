"""Several allocation workers in one consumer group on the real broker and PostgreSQL (issue 18): a burst of
decisions, step-downs and families identified in data for overlapping families, over every partition, with
some families merged in the middle of it. Two workers give what one would: per family one open case holding
every trigger, each case opened once, each trigger in it once, no dead letter. A third worker joining mid-burst
while the first two hold the batches they fetched (so partitions move with their batches in flight) loses
nothing and repeats nothing, though records are read by two workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allocation_race_kit import fresh_postgres
from allocation_workers_kit import (
    Applied,
    Hold,
    Worker,
    burst,
    check_cases,
    group_state,
    lag,
    new_group,
    primer,
    publish,
    wait_until,
)
from sqlalchemy.engine import Engine

from allocation.migrations import migrate
from frontdoor_platform.database import build_engine

pytestmark = pytest.mark.e2e


@pytest.fixture
def pg(postgres_server: Any) -> Iterator[tuple[str, Engine]]:
    url = fresh_postgres(postgres_server)
    engine = build_engine(url)
    migrate(engine)
    yield url, engine
    engine.dispose()


def test_two_workers_in_one_group_give_one_case_per_family_and_each_event_once(
        kafka_bootstrap: str, pg: tuple[str, Engine]) -> None:
    url, engine = pg
    group, applied, hold = new_group(kafka_bootstrap), Applied(), Hold(["w1", "w2"])
    expected = burst(families=40, decisions=4, merged_pairs=6, seed=18)
    workers = [Worker(name, kafka_bootstrap, group, url, applied, hold).start() for name in ("w1", "w2")]
    try:
        wait_until(lambda: group_state(kafka_bootstrap, group) == ("Stable", 2), "two workers in the group")
        publish(kafka_bootstrap, primer(), [0, 1, 2])
        wait_until(lambda: hold.waiting == {"w1", "w2"}, "both workers holding their first batch")
        # The burst waits in both workers' fetch buffers: their next batches are large and start together.
        publish(kafka_bootstrap, expected.entries)
        hold.release()
        wait_until(lambda: lag(kafka_bootstrap, group) == 0, "every record committed")
    finally:
        hold.release()
        for worker in workers:
            worker.stop()
    counted = check_cases(engine, expected)
    by_worker = {name: sum(r[0] == name for r in applied.records) for name in ("w1", "w2")}
    print(f"\n{len(expected.entries)} records, applied {by_worker} ({applied.outcomes()}), {counted}")
    assert all(by_worker.values())  # both workers took part
    assert counted["triggers"] == len(expected.entries) - 6  # every trigger in its family's case (merges apart)


def test_a_third_worker_joining_mid_burst_loses_nothing_and_repeats_nothing(
        kafka_bootstrap: str, pg: tuple[str, Engine]) -> None:
    url, engine = pg
    group, applied, hold = new_group(kafka_bootstrap), Applied(), Hold(["w1", "w2"])
    expected = burst(families=40, decisions=4, merged_pairs=6, seed=1818)
    half = len(expected.entries) // 2
    publish(kafka_bootstrap, expected.entries[:half])  # there before anyone reads: each first batch holds it all
    workers = [Worker(name, kafka_bootstrap, group, url, applied, hold).start() for name in ("w1", "w2")]
    try:
        wait_until(lambda: hold.waiting == {"w1", "w2"}, "both workers holding the batch they fetched")
        workers.append(Worker("w3", kafka_bootstrap, group, url, applied).start())
        wait_until(lambda: group_state(kafka_bootstrap, group) == ("Stable", 3), "three workers in the group")
        publish(kafka_bootstrap, expected.entries[half:])
        hold.release()
        wait_until(lambda: lag(kafka_bootstrap, group) == 0, "every record committed")
    finally:
        hold.release()
        for worker in workers:
            worker.stop()
    counted = check_cases(engine, expected)
    twice = applied.read_by_more_than_one()
    print(f"\n{len(expected.entries)} records, {twice} read by two workers, outcomes {applied.outcomes()}, {counted}")
    assert twice > 0  # partitions moved with their batches in flight, and were read again by their new owner
    assert any(r[0] == "w3" for r in applied.records)
    assert counted["triggers"] == len(expected.entries) - 6
