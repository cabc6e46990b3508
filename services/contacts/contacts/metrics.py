"""Prometheus metrics of the contacts service: the kit's (consumer, outbox,
API) and the front door's own. Labels are bounded enums (source, channel,
decision, topic, reason), never ids or names."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter

from frontdoor_platform.metrics import KitMetrics


class Metrics(KitMetrics):
    def __init__(self, registry: CollectorRegistry | None = None):
        super().__init__("contacts", registry)
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
