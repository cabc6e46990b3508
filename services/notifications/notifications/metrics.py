"""Prometheus metrics of the notifications service: the kit's and its own.
Labels are bounded (channel, reason, phase), never a school or a child."""

from __future__ import annotations

from prometheus_client import Counter

from frontdoor_platform.metrics import KitMetrics


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("notifications")
        self.children_reported = Counter(
            "frontdoor_notifications_children_reported_total",
            "Children named in DA incidents received (present or normally resident)", ["present"],
            registry=self.registry)
        self.enrolments = Counter("frontdoor_notifications_enrolments_total", "Enrolments recorded or changed",
                                  registry=self.registry)
