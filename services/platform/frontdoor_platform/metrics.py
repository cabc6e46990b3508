"""The metrics every service has in the same shape, named
`frontdoor_<service>_<thing>_<unit>`. Labels are bounded (topic, reason,
status), never ids or names. A service adds its own to the same registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from .workers import multiproc_dir

BATCH_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
SIZE_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500)


class KitMetrics:
    def __init__(self, service: str, registry: CollectorRegistry | None = None):
        self.service = service
        self.registry = r = registry or CollectorRegistry()
        p = f"frontdoor_{service}_"
        self.collectors: list[Collector] = []
        self.consumer_lag = Gauge(p + "consumer_lag", "Records not yet consumed, by topic", ["topic"], registry=r,
                                  multiprocess_mode="livesum")
        self.batch_seconds = Histogram(p + "batch_seconds", "Time to handle one consumed batch, commit included",
                                       buckets=BATCH_BUCKETS, registry=r)
        self.batch_records = Histogram(p + "batch_records", "Records in one consumed batch", buckets=SIZE_BUCKETS,
                                       registry=r)
        self.consumed = Counter(p + "consumed_total", "Records consumed and handled, by topic", ["topic"], registry=r)
        self.dead_lettered = Counter(p + "dead_lettered_total", "Records sent to a dead-letter topic",
                                     ["topic", "reason"], registry=r)
        self.consumer_restarts = Counter(p + "consumer_restarts_total", "Times the consumer went back to its last "
                                         "commit after a failure that was not the record's fault", registry=r)
        self.batch_conflict_retries = Counter(p + "batch_conflict_retries_total", "Consumed batches rolled back by a "
                                              "deadlock or serialization failure with another worker and applied "
                                              "again in place", registry=r)
        self.outbox_pending = Gauge(p + "outbox_pending", "Events recorded, not yet published and not parked "
                                    "(rows waiting behind a parked row count here)", registry=r,
                                    multiprocess_mode="livemax")
        self.outbox_published = Counter(p + "outbox_published_total", "Outbox events the broker acknowledged",
                                        registry=r)
        self.outbox_parked = Counter(p + "outbox_parked_total", "Outbox rows parked: they can never be published as "
                                     "they are, by topic and reason", ["topic", "reason"], registry=r)
        self.outbox_parked_rows = Gauge(p + "outbox_parked_rows", "Outbox rows parked now (neither re-sent nor "
                                        "discarded); the later rows of their keys wait", registry=r,
                                        multiprocess_mode="livemax")
        self.outbox_batch_seconds = Histogram(p + "outbox_batch_seconds", "Time to publish one outbox batch",
                                              buckets=BATCH_BUCKETS, registry=r)
        self.http_requests = Counter(p + "http_requests", "HTTP requests answered, by route template, method and "
                                     "status class", ["route", "method", "status_class"], registry=r)
        self.http_request_seconds = Histogram(p + "http_request_duration_seconds", "Time to answer an HTTP request, "
                                              "by route template and method", ["route", "method"],
                                              buckets=HTTP_BUCKETS, registry=r)
        self.api_rejections = Counter(p + "api_rejections_total", "API requests refused, by HTTP status",
                                      ["status"], registry=r)
        # The retention schedule's purges (purge.py), by class of data; how long the oldest row past its period
        # has been due is computed when scraped (purge.PurgeBacklog: `purge_overdue_seconds{class}`).
        self.purged_rows = Counter(p + "purged_rows", "Rows deleted (or erased) at the end of their retention "
                                   "period, by class of data", ["class"], registry=r)
        self.purge_failures = Counter(p + "purge_failures", "Purge passes that failed, by class of data", ["class"],
                                      registry=r)
        self.purge_last_success = Gauge(p + "purge_last_success_timestamp_seconds", "When each class's purge last "
                                        "ran to the end without an error (Unix time, wall clock)", ["class"],
                                        registry=r, multiprocess_mode="max")

    def add_collector(self, collector: Collector) -> None:
        """A collector computed when scraped (e.g. from the database)."""
        self.registry.register(collector)
        self.collectors.append(collector)

    def exposed(self) -> CollectorRegistry:
        """What /metrics shows: this registry, or, when the service runs as
        two processes, both processes' metrics (Prometheus's multiprocess
        files) and the scrape-time collectors."""
        if multiproc_dir() is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in self.collectors:
            registry.register(collector)
        return registry
