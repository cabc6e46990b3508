"""Prometheus metrics of the contacts service. Labels are bounded enums
(source, channel, decision, topic, reason), never ids or names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.contacts_received = Counter(
            "frontdoor_contacts_received_total", "Contacts recorded, by referrer source and channel",
            ["source", "channel"], registry=r)
        self.decisions = Counter(
            "frontdoor_contacts_decisions_total", "MASH decisions recorded, by decision", ["decision"], registry=r)
        self.referrals = Counter(
            "frontdoor_contacts_referrals_total", "Children referred (decision S47 or assessment)", registry=r)
        self.re_referrals = Counter(
            "frontdoor_contacts_re_referrals_total", "Children re-referred within 12 months", registry=r)
        self.da_incidents = Counter(
            "frontdoor_contacts_da_incidents_total", "Police domestic abuse incidents reported", registry=r)
        self.decisions_parked = Counter(
            "frontdoor_contacts_decisions_parked_total", "Decisions that arrived before their contact (kept, applied "
            "when it is recorded)", registry=r)
        self.duplicates = Counter(
            "frontdoor_contacts_duplicates_total", "Replayed events that changed nothing", ["topic"], registry=r)
        self.dead_lettered = Counter(
            "frontdoor_contacts_dead_lettered_total", "Records sent to a dead-letter topic", ["topic", "reason"],
            registry=r)
        self.processing_seconds = Histogram(
            "frontdoor_contacts_processing_seconds", "Time to handle one consumed record", ["topic"], registry=r,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
        self.consumer_lag = Gauge(
            "frontdoor_contacts_consumer_lag", "Records not yet consumed, by topic", ["topic"], registry=r)
        self.outbox_pending = Gauge(
            "frontdoor_contacts_outbox_pending", "Events recorded but not yet published", registry=r)
        self.api_rejections = Counter(
            "frontdoor_contacts_api_rejections_total", "Intake API requests refused, by HTTP status", ["status"],
            registry=r)
