"""What the clock makes happen: a DA notification not acknowledged by the
start of the school day is reported (`notifications.unacknowledged.v1`,
once), signing secrets whose rotation overlap ended are deleted, and the DA
children waiting for their key are swept (`waiting.sweep`: routed when their
key is here, on the MASH worklist when it has not come in
`NOTIFICATIONS_KEY_WAIT_MINUTES`). A
notification's personal data is erased at the end of the retention period
(after acknowledgement; after creation when it was never acknowledged) by
the rule here (`erase_expired`), which only the retention purge runs
(`retention.py`, on the schedule's timer): the timers here do not, so an
erasure is made, and counted, once. Ids, times and outcomes stay for the
KPIs. Both run from the stored rows, so a deadline passed while the service
was stopped still fires once on start.

Two gauges tell ops staff whether the clock's work can be done, computed
when scraped by whichever process serves /metrics (the API's, which
outlives its worker): how long the oldest erasure still to do has been due
(`RetentionGauge`), and when the term dates run out (`TermDatesGauge`)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, func, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts.notifications import NotificationKind, NotificationUnacknowledged
from frontdoor_contracts.topics import NOTIFICATIONS_UNACKNOWLEDGED
from frontdoor_platform.clock import Clock
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from . import directory, store, waiting
from .domain.outcome import Outcome
from .domain.school_days import SchoolCalendar
from .models import NotificationRow
from .outgoing import about, emit
from .runtime import Runtime
from .term_dates import LAST_DAY_METRIC, last_school_day_start

log = logging.getLogger("notifications.timers")
BATCH = 500
OVERDUE_METRIC = "frontdoor_notifications_retention_erasure_overdue_seconds"


def report_unacknowledged(session: Session, now: datetime, source_uri: str) -> list[str | None]:
    """Mark and announce the DA notifications whose deadline passed unacknowledged; their phases."""
    rows = session.exec(select(NotificationRow).where(
        col(NotificationRow.kind) == NotificationKind.DA_INCIDENT, col(NotificationRow.deadline) <= now,
        col(NotificationRow.acknowledged_at).is_(None), col(NotificationRow.unacknowledged_at).is_(None),
    ).limit(BATCH).with_for_update(skip_locked=True)).all()  # several workers' timers: each row to one of them
    for row in rows:
        assert row.deadline is not None
        row.unacknowledged_at = now
        session.add(row)
        contact_id, child_id = about(row)
        emit(session, source_uri=source_uri, topic=NOTIFICATIONS_UNACKNOWLEDGED, key=row.notification_id, time=now,
             now=now, data=NotificationUnacknowledged(
                 notification_id=row.notification_id, kind=NotificationKind.DA_INCIDENT, recipient=row.recipient_id,
                 deadline=row.deadline, delivered=row.delivered_at is not None, contact_id=contact_id,
                 child_id=child_id))
    return [row.phase for row in rows]


def erase_expired(session: Session, now: datetime, retention: timedelta, limit: int = BATCH) -> int:
    """Erase the personal data of at most `limit` notifications past retention at `now` (marked erased at
    `now`); how many. The caller commits."""
    cutoff = now - retention
    rows = session.exec(select(NotificationRow).where(
        col(NotificationRow.erased_at).is_(None),
        or_(col(NotificationRow.acknowledged_at) <= cutoff,
            and_(col(NotificationRow.acknowledged_at).is_(None), col(NotificationRow.created_at) <= cutoff)),
    ).limit(limit).with_for_update(skip_locked=True)).all()
    for row in rows:
        store.erase_personal(row, now)
        session.add(row)
    return len(rows)


def erasure_overdue(session: Session, now: datetime, retention: timedelta) -> timedelta:
    """How long the oldest erasure still to do (`erase_expired`'s rule) has
    been due at `now`; zero when none is due."""
    oldest = session.exec(select(func.min(func.coalesce(col(NotificationRow.acknowledged_at),
                                                        col(NotificationRow.created_at))))
                          .where(col(NotificationRow.erased_at).is_(None))).one()
    if oldest is None:
        return timedelta(0)
    if isinstance(oldest, str):  # an aggregate may come back without the column's type on SQLite
        oldest = datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:  # stored in UTC
        oldest = oldest.replace(tzinfo=UTC)
    return max(timedelta(0), now - (oldest + retention))


class RetentionGauge(Collector):
    """`frontdoor_notifications_retention_erasure_overdue_seconds`, read from
    the database when scraped: 0 while the erasures keep up, growing while
    they fall behind (the worker stopped, or erasing fails); absent from a
    scrape when the database does not answer."""

    def __init__(self, engine: Engine, clock: Clock, retention: timedelta):
        self.engine, self.clock, self.retention = engine, clock, retention

    @staticmethod
    def _family(value: float | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(OVERDUE_METRIC, "How long the oldest erasure of a notification's personal data "
                                 "at the end of retention has been due (0: none is due)", value=value)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            with Session(self.engine) as session:
                overdue = erasure_overdue(session, self.clock(), self.retention)
        except Exception:  # a scrape must not fail because the database does not answer now
            log.warning("retention erasures not measured", exc_info=False)
            return
        yield self._family(overdue.total_seconds())

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()


class TermDatesGauge(Collector):
    """`frontdoor_notifications_term_dates_last_day_timestamp_seconds`: when
    the loaded term dates run out (`term_dates.last_school_day_start`), read
    when scraped; 0 (long run out) when they hold no school day at all."""

    def __init__(self, calendar: SchoolCalendar):
        self.calendar = calendar

    @staticmethod
    def _family(value: float | None = None) -> GaugeMetricFamily:
        return GaugeMetricFamily(LAST_DAY_METRIC, "Start of the last school day the loaded term dates know (Unix "
                                 "time): after it no DA incident has a next school day to be told by", value=value)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        last = last_school_day_start(self.calendar)
        yield self._family(0.0 if last is None else last.timestamp())

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()


def install_gauges(rt: Runtime) -> None:
    """The retention and term-dates gauges on `rt.metrics`, added once; a
    lifespan run again (tests) points the ones added at its runtime."""
    retention = timedelta(days=rt.settings.retention_days)
    found = False
    for collector in rt.metrics.collectors:
        if isinstance(collector, RetentionGauge):
            collector.engine, collector.clock, collector.retention, found = rt.engine, rt.clock, retention, True
        elif isinstance(collector, TermDatesGauge):
            collector.calendar = rt.rules.calendar
    if not found:
        rt.metrics.add_collector(RetentionGauge(rt.engine, rt.clock, retention))
        rt.metrics.add_collector(TermDatesGauge(rt.rules.calendar))


def retention_pass(session: Session, now: datetime) -> int:
    """What the timers forget now: the signing secrets whose rotation overlap has ended (a secret never
    outlives its use); how many. Personal data past its period is the retention purge's (`retention.py`)."""
    return directory.purge_expired_secrets(session, now)


def _tick(rt: Runtime) -> list[str | None]:
    with Session(for_writing(rt.engine)) as session:
        now = rt.clock()
        phases = report_unacknowledged(session, now, rt.settings.source_uri)
        retention_pass(session, now)
        session.commit()
    return phases


def sweep_waiting(rt: Runtime) -> Outcome:
    """The DA children waiting for their key (`waiting.sweep`), in a transaction of its own (a failure here
    never holds up the other timers); what it did."""
    outcome = Outcome()
    with Session(for_writing(rt.engine)) as session:
        waiting.sweep(session, rt.rules, rt.clock(), timedelta(minutes=rt.settings.key_wait_minutes), outcome)
        session.commit()
    return outcome


def run(rt: Runtime) -> Coroutine[Any, Any, None]:
    """The gauges on the metrics (in both processes: `started` calls this in
    each, and only the one serving /metrics shows them), and the timers'
    loop, which the process that runs the background work runs."""
    install_gauges(rt)
    return _loop(rt)


async def _loop(rt: Runtime) -> None:
    while True:
        await _sweep(rt)
        try:
            phases = await in_thread(_tick, rt)
            for phase in phases:
                rt.metrics.unacknowledged.labels(phase or "unknown").inc()
            if phases:
                rt.relay.wake()
            if len(phases) == BATCH:
                continue
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("notification timers failed; retrying", extra={"error": type(exc).__name__})
        await asyncio.sleep(rt.settings.timers_interval_seconds)


async def _sweep(rt: Runtime) -> None:
    try:
        outcome = await in_thread(sweep_waiting, rt)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error("children waiting for their key not swept; retrying", extra={"error": type(exc).__name__})
        return
    rt.metrics.record(outcome)
    if outcome.created:
        rt.wake_delivery()
    if outcome.created or outcome.unknown or outcome.dead_lettered:
        rt.relay.wake()
