"""The retention schedule's purges, on a timer, in every service.

A service registers its purges (`Purge`: the schedule's class, a function
deleting at most n rows whose period started before a cutoff, and one
saying when the oldest row still held started its period); the kit adds
the outbox's own (settled rows: published, or discarded after parking).
`PurgeRunner` runs them all every `purge.every_minutes` of the service's
clock (so a simulated clock moves them), each in batches of
`purge.batch_rows` rows, one short transaction a batch, until nothing past
due is left; it counts `purged_rows_total{class}`, `purge_failures_total`,
and sets `purge_last_success_timestamp_seconds{class}` (wall clock) when all
of a class's purges ran to the end. `PurgeBacklog` says, when scraped, how
long the oldest row past its period has been due per class
(`purge_overdue_seconds{class}`; 0 when none is), read from the database by
whichever process serves /metrics, so it keeps growing when the worker is
gone. FrontDoorPurgeBehind fires on either."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import ColumnElement, delete, func, tuple_
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from frontdoor_contracts.retention import OUTBOX, READ_LOG, Schedule

from .clock import Clock
from .database import for_writing
from .http import in_thread
from .metrics import KitMetrics
from .outbox_table import OutboxFields, Settled, oldest_settled, purge_settled
from .reads import ReadTables

log = logging.getLogger("frontdoor.purge")
OVERDUE_SUFFIX = "purge_overdue_seconds"
MAX_BATCHES = 200  # per purge per pass: a long backlog goes on at the next pass, straight after
MIN_WAIT_SECONDS = 1.0  # on a fast simulated clock, a pass at most every wall second

Delete = Callable[[Session, datetime, int], int]  # rows whose period started before the cutoff, at most n
Oldest = Callable[[Session], "datetime | None"]  # when the oldest row still held started its period


@dataclass(frozen=True)
class Purge:
    data_class: str  # the schedule's class: its period, and the metrics' label
    delete: Delete
    oldest: Oldest


def as_utc(found: Any) -> datetime | None:
    """An aggregate's datetime (SQLite may give it as text, or without its zone: stored in UTC)."""
    if isinstance(found, str):
        found = datetime.fromisoformat(found)
    return found.replace(tzinfo=UTC) if isinstance(found, datetime) and found.tzinfo is None else found


def delete_rows(session: Session, table: type[SQLModel], where: ColumnElement[bool], limit: int) -> int:
    """Delete at most `limit` rows of `table` matching `where` (by primary key; rows another worker holds
    are skipped); how many. The caller commits."""
    keys = list(table.__table__.primary_key.columns)  # type: ignore[attr-defined]
    chosen = session.execute(select(*keys).where(where).limit(limit).with_for_update(skip_locked=True)).all()
    if chosen:
        matching = keys[0].in_([row[0] for row in chosen]) if len(keys) == 1 else \
            tuple_(*keys).in_([tuple(row) for row in chosen])
        session.execute(delete(table).where(matching))
    return len(chosen)


def earliest(session: Session, column: Any, *where: ColumnElement[bool]) -> datetime | None:
    """The smallest value of a datetime column among the rows matching `where`."""
    return as_utc(session.exec(select(func.min(column)).where(*where)).one())


def _settled(table: type[OutboxFields], how: Settled) -> Purge:
    def remove(session: Session, cutoff: datetime, limit: int) -> int:
        return purge_settled(session, table, how, cutoff, limit)

    def oldest(session: Session) -> datetime | None:
        return oldest_settled(session, table, how)

    return Purge(OUTBOX, remove, oldest)


def outbox_purges(table: type[OutboxFields]) -> tuple[Purge, ...]:
    """Published rows, and parked rows an operator discarded, after the outbox class's period."""
    return _settled(table, "published"), _settled(table, "discarded")


def read_log_purge(log: ReadTables) -> Purge:
    """The read log's reads made before the read_log class's period (the table lets only this delete)."""
    return Purge(READ_LOG, log.purge_reads, lambda session: earliest(session, log.table.at))


def overdue(purge: Purge, session: Session, now: datetime, period: timedelta) -> timedelta:
    oldest = purge.oldest(session)
    return timedelta(0) if oldest is None else max(timedelta(0), now - (oldest + period))


class PurgeRunner:
    def __init__(self, engine: Engine, clock: Clock, metrics: KitMetrics, schedule: Schedule,
                 purges: Sequence[Purge], wall: Callable[[], float] = time.time):
        unknown = sorted({p.data_class for p in purges} - set(schedule.classes))
        if unknown:
            raise ValueError(f"purges of classes the retention schedule does not name: {', '.join(unknown)}")
        self.engine, self.clock, self.metrics, self.schedule = engine, clock, metrics, schedule
        self.purges, self.wall = tuple(purges), wall

    def _batch(self, purge: Purge, period: timedelta) -> int:
        with Session(for_writing(self.engine)) as session:
            deleted = purge.delete(session, self.clock() - period, self.schedule.batch_rows)
            session.commit()
        if deleted:
            self.metrics.purged_rows.labels(purge.data_class).inc(deleted)
        return deleted

    def _purge(self, purge: Purge) -> tuple[int, bool]:
        """Batches until none is full (or MAX_BATCHES): rows deleted, and whether more may be due."""
        period, total = self.schedule.of(purge.data_class).period, 0
        for _ in range(MAX_BATCHES):
            deleted = self._batch(purge, period)
            total += deleted
            if deleted < self.schedule.batch_rows:
                return total, False
        return total, True

    def run_once(self) -> tuple[dict[str, int], bool]:
        """One pass of every purge (blocking: call in a thread): rows deleted per class, and whether a
        backlog is left for the next pass. A failing purge is counted and logged; the others go on."""
        deleted: dict[str, int] = {}
        failed: set[str] = set()
        more = False
        for purge in self.purges:
            try:
                count, left = self._purge(purge)
            except Exception as exc:  # the database, or a purge's bug: the next pass tries again
                failed.add(purge.data_class)
                self.metrics.purge_failures.labels(purge.data_class).inc()
                log.error("purge failed; retrying at the next pass",
                          extra={"data_class": purge.data_class, "error": type(exc).__name__})
                continue
            deleted[purge.data_class] = deleted.get(purge.data_class, 0) + count
            more = more or left
        finished = self.wall()
        for data_class in {p.data_class for p in self.purges} - failed:
            self.metrics.purge_last_success.labels(data_class).set(finished)
        return deleted, more

    def wait_seconds(self) -> float:
        """`purge.every_minutes` of the service's clock, in wall seconds (a simulated clock runs faster)."""
        every = self.schedule.purge_every
        wall_seconds = getattr(self.clock, "wall_seconds", None)
        seconds = wall_seconds(every) if callable(wall_seconds) else every.total_seconds()
        return max(MIN_WAIT_SECONDS, min(float(seconds), every.total_seconds()))

    async def run(self) -> None:
        while True:
            try:
                deleted, more = await in_thread(self.run_once)
                if any(deleted.values()):
                    log.info("purged", extra={"rows": sum(deleted.values())})
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("purge pass failed; retrying", extra={"error": type(exc).__name__})
                more = False
            await asyncio.sleep(0.05 if more else self.wait_seconds())


class PurgeBacklog(Collector):
    """`frontdoor_<service>_purge_overdue_seconds{class}`, read from the database when scraped: 0 while the
    purges keep up, growing while they fall behind; absent from a scrape when the database does not answer."""

    def __init__(self, name: str, engine: Engine, clock: Clock, schedule: Schedule, purges: Sequence[Purge]):
        self.name, self.engine, self.clock, self.schedule, self.purges = name, engine, clock, schedule, purges

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, "How long the oldest row past its retention period has been due, by "
                                 "class of data (0: none is due)", labels=["class"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        worst: dict[str, timedelta] = {}
        try:
            with Session(self.engine) as session:
                now = self.clock()
                for purge in self.purges:
                    late = overdue(purge, session, now, self.schedule.of(purge.data_class).period)
                    worst[purge.data_class] = max(late, worst.get(purge.data_class, timedelta(0)))
        except Exception:  # a scrape must not fail because the database does not answer now
            log.warning("purge backlog not measured", exc_info=False)
            return
        family = self._family()
        for data_class, late in sorted(worst.items()):
            family.add_metric([data_class], late.total_seconds())
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()


def install(metrics: KitMetrics, engine: Engine, clock: Clock, schedule: Schedule,
            purges: Sequence[Purge]) -> PurgeRunner:
    """The backlog gauge on `metrics` (added once; a lifespan run again points it at its engine) and the
    runner, whose `run()` the process doing the background work runs."""
    for collector in metrics.collectors:
        if isinstance(collector, PurgeBacklog):
            collector.engine, collector.clock, collector.schedule, collector.purges = engine, clock, schedule, purges
            break
    else:
        name = f"frontdoor_{metrics.service}_{OVERDUE_SUFFIX}"
        metrics.add_collector(PurgeBacklog(name, engine, clock, schedule, purges))
    return PurgeRunner(engine, clock, metrics, schedule, purges)
