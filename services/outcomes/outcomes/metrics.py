"""Prometheus metrics of the outcomes service: the kit's (consumed, dead
letters, lag, batches, outbox), the stream's own, and the KPI gauges (the
read model's collector). Labels are bounded: topics, kinds, periods of the
current year; never a family, a person or a case."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

from frontdoor_platform.metrics import KitMetrics


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("outcomes")
        self.replayed = Counter("frontdoor_outcomes_replayed_total", "Records seen again (faust is at-least-once) "
                                "and skipped by their event id", ["topic"], registry=self.registry)
        self.outputs = Counter("frontdoor_outcomes_outputs_total", "Events the rules produced: family identified, "
                               "outcome achieved, claim eligible (each once)", ["topic"], registry=self.registry)
        self.families = Gauge("frontdoor_outcomes_families", "Families the stream holds a picture of",
                              registry=self.registry, multiprocess_mode="mostrecent")
        # not `..._count`: that suffix is a histogram's or a summary's (`promtool check metrics` refuses it)
        self.period_outputs = Gauge(
            "frontdoor_outcomes_period_outputs", "Events the rules produced, per kind, in the current calendar month "
            "and school term (the counts kept in the stream's tables)", ["kind", "period"], registry=self.registry,
            multiprocess_mode="mostrecent")
