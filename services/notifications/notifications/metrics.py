"""Prometheus metrics of the notifications service: the kit's and its own.
Labels are bounded (channel, reason, phase), never a school or a child.
The counters the alerts watch start at 0 for every reason and phase, so the
first failure, escalation or unacknowledged notification is an increase
Prometheus sees (a series born at 1 has no increase to show). The gauges
computed when scraped are in `timers` (retention) and `term_dates`."""

from __future__ import annotations

from typing import get_args

from prometheus_client import Counter, Histogram

from frontdoor_contracts.notifications import FailureReason
from frontdoor_platform.metrics import KitMetrics

from .domain.outcome import UNREADABLE_KEY, Outcome
from .responses import SchoolPhase

# From 50 ms (a webhook straight after the incident) to days (an alert read after a weekend).
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400,
                   3 * 86400, 7 * 86400)


class Metrics(KitMetrics):
    def __init__(self) -> None:
        super().__init__("notifications")
        self.children_reported = Counter(
            "frontdoor_notifications_children_reported_total",
            "Children named in DA incidents received (present or normally resident)", ["present"],
            registry=self.registry)
        self.enrolments = Counter("frontdoor_notifications_enrolments_total", "Enrolments recorded or changed",
                                  registry=self.registry)
        # delivery (delivery/loop.py); the pending deliveries by age are counted when scraped (delivery/pending.py)
        self.deliveries = Counter("frontdoor_notifications_deliveries_total",
                                  "Notifications delivered, by channel and timing (before_deadline, late, no_deadline)",
                                  ["channel", "timing"], registry=self.registry)
        self.delivery_latency = Histogram("frontdoor_notifications_delivery_latency_seconds",
                                          "From the event's report time to delivery", ["channel"],
                                          buckets=LATENCY_BUCKETS, registry=self.registry)
        self.delivery_attempts = Counter("frontdoor_notifications_delivery_attempts_total",
                                         "Delivery attempts, by channel and outcome", ["channel", "outcome"],
                                         registry=self.registry)
        self.delivery_failures = Counter("frontdoor_notifications_delivery_failures_total",
                                         "Deliveries given up (no more attempts), by the last reason", ["reason"],
                                         registry=self.registry)
        self.delivery_retries = Counter("frontdoor_notifications_delivery_retries_total",
                                        "Failed deliveries the MASH sent again, by the channel now",
                                        ["channel"], registry=self.registry)
        self.delivery_escalations = Counter("frontdoor_notifications_delivery_escalations_total",
                                            "Notifications escalated to the MASH worklist, by reason", ["reason"],
                                            registry=self.registry)
        self.created = Counter("frontdoor_notifications_created_total", "Notifications created",
                               ["kind", "phase"], registry=self.registry)
        self.children_resolved = Counter(
            "frontdoor_notifications_children_resolved_total",
            "Children of DA incidents by how their school was found (on_event, by_enrolment, unknown, "
            "not_of_school_age) or why nobody is told (erased, unreadable)", ["resolution"], registry=self.registry)
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
        # the people's keys and the DA children waiting for theirs (keys.py, waiting.py)
        self.person_keys = Counter("frontdoor_notifications_person_keys_total",
                                   "People's data keys kept (issued), dropped (erased: a tombstone) or not kept "
                                   "(ignored: the person was erased here)", ["change"],
                                   registry=self.registry)
        self.person_keys_unreadable = Counter(
            "frontdoor_notifications_person_keys_unreadable_total",
            "Key records this service cannot unwrap, recorded unreadable (no key kept, nothing dead-lettered), by "
            "reason (no_key_for_service, unknown_key_id: a wrapping key id it does not hold, does_not_unwrap)",
            ["reason"], registry=self.registry)
        self.children_waiting = Counter(
            "frontdoor_notifications_children_waiting_for_key_total",
            "DA children read before their key came: they wait for it (routed when it comes)", registry=self.registry)
        self.key_missing = Counter(
            "frontdoor_notifications_key_missing_total",
            "DA children put on the MASH worklist because their key had not come in NOTIFICATIONS_KEY_WAIT_MINUTES",
            registry=self.registry)
        self.erased_for_person = Counter(
            "frontdoor_notifications_erased_for_person_total",
            "Notifications whose personal data was erased because their child was erased (a key tombstone)",
            registry=self.registry)
        for change in ("issued", "erased", "ignored"):
            self.person_keys.labels(change)
        for reason in UNREADABLE_KEY:
            self.person_keys_unreadable.labels(reason)
        for reason in FailureReason:
            self.delivery_escalations.labels(reason.value)
            if reason is not FailureReason.DEADLINE_NEAR:  # a reason to escalate, never a send's outcome
                self.delivery_failures.labels(reason.value)
        for phase in (*get_args(SchoolPhase), "unknown"):
            self.unacknowledged.labels(phase)

    def record(self, outcome: Outcome) -> None:
        for present, n in outcome.reported.items():
            self.children_reported.labels(present).inc(n)
        for change, n in outcome.keys.items():
            self.person_keys.labels(change).inc(n)
        for reason, n in outcome.unreadable_keys.items():
            self.person_keys_unreadable.labels(reason).inc(n)
        self.children_waiting.inc(outcome.waiting)
        self.key_missing.inc(outcome.key_missing)
        self.erased_for_person.inc(outcome.erased_for_person)
        for topic, reason in outcome.dead_lettered:
            self.dead_lettered.labels(topic, reason).inc()
        for (kind, phase), n in outcome.created.items():
            self.created.labels(kind, phase).inc(n)
        for resolution, n in outcome.resolutions.items():
            self.children_resolved.labels(resolution).inc(n)
        for reason, n in outcome.unknown.items():
            self.school_unknown.labels(reason).inc(n)
        for kind, n in outcome.no_recipient.items():
            self.no_recipient.labels(kind).inc(n)
