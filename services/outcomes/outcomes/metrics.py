"""Prometheus metrics of the outcomes service: the kit's and the KPIs.
Labels are bounded enums (source), never ids or names."""

from __future__ import annotations

from prometheus_client import Counter

from frontdoor_platform.metrics import KitMetrics


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("outcomes")
        self.contacts = Counter("frontdoor_outcomes_contacts_total", "Contacts recorded at the front door, by "
                                "referrer source", ["source"], registry=self.registry)
