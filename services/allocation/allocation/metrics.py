"""Prometheus metrics of the allocation service: the kit's (consumer, outbox,
API) and its own. Bounded labels only. The open-cases and overdue gauges are
computed at scrape time from one column and one count, not from the cases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from frontdoor_contracts.vocabulary import ClosureOutcome
from frontdoor_platform.metrics import KitMetrics

WAITING_BUCKETS = ("0-2", "3-5", "6-10", "11-20", "21+")


def waiting_bucket(days: int) -> str:
    for label, top in zip(WAITING_BUCKETS, (2, 5, 10, 20), strict=False):
        if days <= top:
            return label
    return WAITING_BUCKETS[-1]


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("allocation")
        r = self.registry
        self.cases_opened = Counter("frontdoor_allocation_cases_opened_total", "Cases opened, by source", ["source"],
                                    registry=r)
        self.triggers_attached = Counter("frontdoor_allocation_triggers_attached_total",
                                         "Triggers joined to a family's open case", ["source"], registry=r)
        self.spa_to_offer_days = Histogram("frontdoor_allocation_spa_to_offer_days", "Days from SPA decision to "
                                           "offer", buckets=(1, 2, 3, 5, 7, 10, 14, 21, 28), registry=r)
        self.offers = Counter("frontdoor_allocation_offers_total", "Offers made, within or outside the target",
                              ["within_target"], registry=r)
        self.allocated = Counter("frontdoor_allocation_cases_allocated_total", "Cases allocated, by agency kind",
                                 ["agency_kind"], registry=r)
        self.families_merged = Counter("frontdoor_allocation_families_merged_total", "Families found to be one "
                                       "whose cases changed", registry=r)
        self.cases_closed = Counter("frontdoor_allocation_cases_closed_total", "Cases closed by the lead agency, "
                                    "by outcome category", ["outcome"], registry=r)
        for outcome in ClosureOutcome:  # every category shows, 0 until the first closure
            self.cases_closed.labels(outcome.value)
        self.sla_events = Counter("frontdoor_allocation_sla_events_total", "Due-soon and overdue events emitted",
                                  ["kind"], registry=r)


class WaitingCases(Collector):
    """`open_cases{days_waiting}` and `overdue_cases`, read when scraped.
    `read` returns (days waiting of each case awaiting an offer, overdue count)."""

    def __init__(self, read: Callable[[datetime], tuple[list[int], int]], clock: Callable[[], datetime]):
        self._read = read
        self._clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        waiting, overdue = self._read(self._clock())
        counts = dict.fromkeys(WAITING_BUCKETS, 0)
        for days in waiting:
            counts[waiting_bucket(days)] += 1
        family = GaugeMetricFamily("frontdoor_allocation_open_cases", "Cases awaiting an offer, by days waiting",
                                   labels=["days_waiting"])
        for bucket, count in counts.items():
            family.add_metric([bucket], count)
        yield family
        yield GaugeMetricFamily("frontdoor_allocation_overdue_cases", "Open cases past the target without an offer",
                                value=overdue)
