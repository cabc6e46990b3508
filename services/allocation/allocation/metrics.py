"""Prometheus metrics of the allocation service (bounded labels only)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

WAITING_BUCKETS = ("0-2", "3-5", "6-10", "11-20", "21+")


def waiting_bucket(days: int) -> str:
    for label, top in zip(WAITING_BUCKETS, (2, 5, 10, 20), strict=False):
        if days <= top:
            return label
    return WAITING_BUCKETS[-1]


class Metrics:
    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.cases_opened = Counter("frontdoor_allocation_cases_opened_total", "Cases opened, by source", ["source"],
                                    registry=r)
        self.triggers_attached = Counter("frontdoor_allocation_triggers_attached_total",
                                         "Triggers joined to a family's open case", ["source"], registry=r)
        self.open_cases = Gauge("frontdoor_allocation_open_cases", "Open cases by days waiting", ["days_waiting"],
                                registry=r)
        self.overdue_cases = Gauge("frontdoor_allocation_overdue_cases", "Open cases past the target without an "
                                   "offer", registry=r)
        self.spa_to_offer_days = Histogram("frontdoor_allocation_spa_to_offer_days", "Days from SPA decision to "
                                           "offer", buckets=(1, 2, 3, 5, 7, 10, 14, 21, 28), registry=r)
        self.offers = Counter("frontdoor_allocation_offers_total", "Offers made, within or outside the target",
                              ["within_target"], registry=r)
        self.allocated = Counter("frontdoor_allocation_cases_allocated_total", "Cases allocated, by agency kind",
                                 ["agency_kind"], registry=r)
        self.sla_events = Counter("frontdoor_allocation_sla_events_total", "Due-soon and overdue events emitted",
                                  ["kind"], registry=r)
        self.dead_lettered = Counter("frontdoor_allocation_dead_lettered_total", "Records sent to a dead-letter "
                                     "topic", ["topic", "reason"], registry=r)
        self.consumer_lag = Gauge("frontdoor_allocation_consumer_lag", "Records not yet consumed", ["topic"],
                                  registry=r)
