"""The retention purges on a moved clock, on SQLite and PostgreSQL: the outbox's settled rows (published, or
discarded after parking) go once the schedule's outbox period has passed, in batches, and nothing else does
(rows to publish, parked rows, rows inside the period); counted per class, the last success stamped, the
backlog gauge growing while rows are past due and 0 once purged; a failing purge is counted and leaves the
others to run; the wait follows a simulated clock."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from kit_tables import KitOutbox, KitTable
from prometheus_client import generate_latest
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.retention import OUTBOX, Schedule, default
from frontdoor_platform.clock import SimulatedClock
from frontdoor_platform.database import build_engine
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.outbox import add_record, discard, park
from frontdoor_platform.purge import MIN_WAIT_SECONDS, Purge, PurgeRunner, install, outbox_purges

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WEEK = default().of(OUTBOX).period
WALL = 1_900_000_000.0


class Moved:
    """A clock a test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    KitTable.metadata.create_all(built)
    yield built
    built.dispose()


def schedule(batch_rows: int = 500) -> Schedule:
    return dataclasses.replace(default(), batch_rows=batch_rows)


def add(engine: Engine, names: list[str], at: datetime) -> None:
    with Session(engine) as session:
        for name in names:
            add_record(session, KitOutbox, "t.v1", "k-" + name, b"payload", name, at)
        session.commit()


def settle(engine: Engine, names: list[str], at: datetime, how: str) -> None:
    with Session(engine) as session:
        ids = {row.id: "too_large" for row in session.exec(select(KitOutbox).where(col(KitOutbox.event_id).in_(names)))}
        if how == "published":
            session.execute(update(KitOutbox).where(col(KitOutbox.id).in_(ids)).values(published_at=at))
            session.commit()
            return
        park(session, KitOutbox, ids, at)  # type: ignore[arg-type]
        session.commit()
        if how == "discarded":
            discard(session, KitOutbox, list(ids), at)  # type: ignore[arg-type]


def left(engine: Engine) -> set[str]:
    with Session(engine) as session:
        return set(session.exec(select(KitOutbox.event_id)).all())


def scrape(metrics: KitMetrics) -> str:
    return generate_latest(metrics.registry).decode()


def sample(metrics: KitMetrics, name: str, data_class: str = OUTBOX) -> float | None:
    return metrics.registry.get_sample_value(f"frontdoor_kit_{name}", {"class": data_class})


def test_settled_outbox_rows_go_after_the_period_and_nothing_else_does(db: Engine) -> None:
    clock, metrics = Moved(START), KitMetrics("kit")
    add(db, ["old-published", "new-published", "unsent", "parked", "old-discarded", "new-discarded"], START)
    settle(db, ["old-published"], START, "published")
    settle(db, ["new-published"], START + timedelta(days=3), "published")
    settle(db, ["parked"], START, "parked")
    settle(db, ["old-discarded"], START, "discarded")
    settle(db, ["new-discarded"], START + timedelta(days=3), "discarded")
    runner = install(metrics, db, clock, schedule(), outbox_purges(KitOutbox))
    runner.wall = lambda: WALL

    clock.now = START + WEEK - timedelta(seconds=1)  # nothing is past due yet
    assert runner.run_once() == ({OUTBOX: 0}, False)
    assert len(left(db)) == 6
    assert sample(metrics, "purge_overdue_seconds") == 0.0
    assert sample(metrics, "purge_last_success_timestamp_seconds") == WALL

    clock.now = START + WEEK + timedelta(hours=2)
    assert sample(metrics, "purge_overdue_seconds") == pytest.approx(2 * 3600)  # due, not yet purged
    assert runner.run_once() == ({OUTBOX: 2}, False)
    assert left(db) == {"new-published", "unsent", "parked", "new-discarded"}
    assert sample(metrics, "purged_rows_total") == 2
    assert sample(metrics, "purge_overdue_seconds") == 0.0

    clock.now = START + timedelta(days=3) + WEEK + timedelta(seconds=1)
    runner.run_once()
    assert left(db) == {"unsent", "parked"}  # never published, or parked and never settled: kept
    clock.now = START + timedelta(days=3650)
    runner.run_once()
    assert left(db) == {"unsent", "parked"}
    assert sample(metrics, "purged_rows_total") == 4


def test_a_backlog_is_purged_in_batches_of_the_schedules_size(db: Engine) -> None:
    clock, metrics = Moved(START), KitMetrics("kit")
    names = [f"e{i}" for i in range(7)]
    add(db, names, START)
    settle(db, names, START, "published")
    runner = PurgeRunner(db, clock, metrics, schedule(batch_rows=3), outbox_purges(KitOutbox))
    clock.now = START + WEEK + timedelta(days=1)
    assert runner.run_once() == ({OUTBOX: 7}, False)  # 3 + 3 + 1: the last batch is not full
    assert left(db) == set()


def test_a_failing_purge_is_counted_and_the_others_still_run(db: Engine) -> None:
    clock, metrics = Moved(START + WEEK * 2), KitMetrics("kit")
    add(db, ["a"], START)
    settle(db, ["a"], START, "published")

    def broken(session: Session, cutoff: datetime, limit: int) -> int:
        raise RuntimeError("a purge's bug")

    purges = (Purge("read_log", broken, lambda session: None), *outbox_purges(KitOutbox))
    runner = PurgeRunner(db, clock, metrics, schedule(), purges, wall=lambda: WALL)
    assert runner.run_once() == ({OUTBOX: 1}, False)
    assert left(db) == set()
    assert sample(metrics, "purge_failures_total", "read_log") == 1
    assert sample(metrics, "purge_last_success_timestamp_seconds", "read_log") is None
    assert sample(metrics, "purge_last_success_timestamp_seconds") == WALL


def test_a_purge_of_a_class_the_schedule_does_not_name_is_refused(db: Engine) -> None:
    with pytest.raises(ValueError, match="does not name: billing"):
        PurgeRunner(db, Moved(START), KitMetrics("kit"), schedule(), [Purge("billing", lambda *a: 0, lambda s: None)])


def test_the_gauge_is_added_once_and_follows_the_latest_lifespan(db: Engine) -> None:
    metrics = KitMetrics("kit")
    install(metrics, db, Moved(START), schedule(), outbox_purges(KitOutbox))
    install(metrics, db, Moved(START), schedule(), outbox_purges(KitOutbox))
    assert scrape(metrics).count("# TYPE frontdoor_kit_purge_overdue_seconds gauge") == 1


def test_the_pass_waits_the_schedules_minutes_of_the_services_clock() -> None:
    every = default().purge_every
    runner = PurgeRunner(None, Moved(START), KitMetrics("kit"), schedule(), ())  # type: ignore[arg-type]
    assert runner.wait_seconds() == every.total_seconds()
    runner.clock = SimulatedClock(START, speed=60.0, since=WALL)
    assert runner.wait_seconds() == every.total_seconds() / 60
    runner.clock = SimulatedClock(START, speed=1e6, since=WALL)
    assert runner.wait_seconds() == MIN_WAIT_SECONDS
