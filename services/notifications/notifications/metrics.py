"""Prometheus metrics of the notifications service: the kit's and its own.
Labels are bounded (channel, reason, phase), never a school or a child."""

from __future__ import annotations

from typing import TYPE_CHECKING

from prometheus_client import Counter

from frontdoor_platform.metrics import KitMetrics

if TYPE_CHECKING:
    from .handlers import Outcome


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("notifications")
        self.children_reported = Counter(
            "frontdoor_notifications_children_reported_total",
            "Children named in DA incidents received (present or normally resident)", ["present"],
            registry=self.registry)
        self.enrolments = Counter("frontdoor_notifications_enrolments_total", "Enrolments recorded or changed",
                                  registry=self.registry)
        self.created = Counter("frontdoor_notifications_created_total", "Notifications created",
                               ["kind", "phase"], registry=self.registry)
        self.children_resolved = Counter(
            "frontdoor_notifications_children_resolved_total",
            "Children of DA incidents by how their school was found (on_event, by_enrolment, unknown, "
            "not_of_school_age)", ["resolution"], registry=self.registry)
        self.school_unknown = Counter("frontdoor_notifications_school_unknown_total",
                                      "Children put on the MASH worklist: school not found", ["reason"],
                                      registry=self.registry)
        self.no_recipient = Counter("frontdoor_notifications_no_recipient_total",
                                    "Allocation messages with nobody in the directory to tell", ["kind"],
                                    registry=self.registry)
        self.acknowledged = Counter("frontdoor_notifications_acknowledged_total",
                                    "Notifications acknowledged, before the school day started or after",
                                    ["kind", "timing"], registry=self.registry)
        self.unacknowledged = Counter("frontdoor_notifications_unacknowledged_total",
                                      "Notifications not acknowledged by the start of the school day", ["phase"],
                                      registry=self.registry)
        self.erased = Counter("frontdoor_notifications_erased_total",
                              "Notifications whose personal data was erased at the end of retention",
                              registry=self.registry)

    def record(self, outcome: Outcome) -> None:
        for (kind, phase), n in outcome.created.items():
            self.created.labels(kind, phase).inc(n)
        for resolution, n in outcome.resolutions.items():
            self.children_resolved.labels(resolution).inc(n)
        for reason, n in outcome.unknown.items():
            self.school_unknown.labels(reason).inc(n)
        for kind, n in outcome.no_recipient.items():
            self.no_recipient.labels(kind).inc(n)
