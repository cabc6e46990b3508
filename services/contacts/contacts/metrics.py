"""Prometheus metrics of the contacts service: the kit's (consumer, outbox,
API) and the front door's own. Labels are bounded enums (source, channel,
decision, topic, reason, dataset, outcome), never ids or names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import cast

from prometheus_client import CollectorRegistry, Counter

from frontdoor_contracts.vocabulary import PartnerDataset
from frontdoor_platform.metrics import KitMetrics

from .partner_data import DATASETS


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
        self.partner_records = Counter(
            "frontdoor_contacts_partner_records_total", "Partner records by dataset and outcome: matched to a known "
            "person, created the person, or dead-lettered", ["dataset", "outcome"], registry=r)
        # The kit counts the records it dead-letters by topic and reason; partner records are counted by dataset too.
        self.dead_lettered = cast(Counter, _AlsoByDataset(self.dead_lettered, self.partner_records, DATASETS))


class _Both:
    def __init__(self, *counters: Counter):
        self._counters = counters

    def inc(self, amount: float = 1) -> None:
        for counter in self._counters:
            counter.inc(amount)


class _AlsoByDataset:
    """The kit's dead-letter counter, as the kit uses it (`labels(topic,
    reason).inc()`), that also counts a partner topic's dead letters in
    partner_records{outcome="dead_lettered"} (after the commit, as the kit does)."""

    def __init__(self, dead_lettered: Counter, partner_records: Counter, datasets: Mapping[str, PartnerDataset]):
        self._dead_lettered, self._partner_records, self._datasets = dead_lettered, partner_records, datasets

    def labels(self, topic: str, reason: str) -> Counter | _Both:
        child = self._dead_lettered.labels(topic, reason)
        dataset = self._datasets.get(topic)
        return child if dataset is None else _Both(child, self._partner_records.labels(dataset.value, "dead_lettered"))
