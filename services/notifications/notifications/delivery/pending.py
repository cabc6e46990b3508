"""`frontdoor_notifications_deliveries_pending{age}`: deliveries not yet
made, by the notification's age, counted from the database when scraped
(so both processes' work shows and nothing drifts). A scrape never fails
because the database does not answer: the gauge is left out then."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, case, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_platform.clock import Clock, utc_now

from ..models import DeliveryRow, NotificationRow
from .queue import PENDING

if TYPE_CHECKING:  # prometheus_client must not load before `serve` sets up multiprocess metrics
    from prometheus_client.core import GaugeMetricFamily

    from ..metrics import Metrics

log = logging.getLogger("notifications.delivery")
PENDING_METRIC = "frontdoor_notifications_deliveries_pending"
AGE_BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("lt_1m", timedelta(minutes=1)), ("lt_1h", timedelta(hours=1)), ("lt_1d", timedelta(days=1)), ("older", None))


class PendingByAge:
    """The collector: one per `Metrics`, pointed at the app's engine."""

    def __init__(self, engine: Engine, clock: Clock = utc_now):
        self.engine = engine
        self._clock = clock

    @classmethod
    def install(cls, metrics: Metrics, engine: Engine, clock: Clock = utc_now) -> PendingByAge:
        """Add it to `metrics` once; a lifespan run again (tests) points the one added at its engine."""
        for collector in metrics.collectors:
            if isinstance(collector, cls):
                collector.engine, collector._clock = engine, clock
                return collector
        made = cls(engine, clock)
        metrics.add_collector(made)
        return made

    def counts(self) -> dict[str, int]:
        now = self._clock()
        sums: list[Any] = []
        younger_than: datetime | None = None  # the previous bucket's bound
        for name, age in AGE_BUCKETS:
            bound = None if age is None else now - age
            within = [] if bound is None else [col(NotificationRow.created_at) > bound]
            if younger_than is not None:
                within.append(col(NotificationRow.created_at) <= younger_than)
            sums.append(func.sum(case((and_(*within), 1), else_=0)).label(name))
            younger_than = bound
        query = (select(*sums).select_from(DeliveryRow)
                 .join(NotificationRow, col(NotificationRow.notification_id) == col(DeliveryRow.notification_id))
                 .where(col(DeliveryRow.state) == PENDING))
        with Session(self.engine) as session:
            found = session.exec(query).one()
        return {name: int(value or 0) for (name, _), value in zip(AGE_BUCKETS, found, strict=True)}

    @staticmethod
    def _family() -> GaugeMetricFamily:
        from prometheus_client.core import GaugeMetricFamily

        return GaugeMetricFamily(PENDING_METRIC, "Deliveries not yet made, by the notification's age",
                                 labels=["age"])

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            counts = self.counts()
        except Exception:  # a scrape must not fail because the database does not answer now
            log.warning("pending deliveries not counted", exc_info=False)
            return
        family = self._family()
        for name, value in counts.items():
            family.add_metric([name], value)
        yield family

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield self._family()
