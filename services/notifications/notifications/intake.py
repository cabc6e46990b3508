"""The consumer's routes. So far: DA incidents, counted per child (school
resolution, deadlines and delivery are issue 9)."""

from __future__ import annotations

from sqlmodel import Session

from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED
from frontdoor_platform.consumer import Consumed, Route, Routes

from .metrics import Metrics

Incident = CloudEvent[DAIncidentReported]


def routes(metrics: Metrics) -> Routes:
    def apply(session: Session, event: Incident, where: Consumed) -> Incident:
        return event

    def count(event: Incident) -> None:
        for child in event.data.children:
            metrics.children_reported.labels(str(child.present).lower()).inc()

    return Routes().add(CONTACTS_DA_INCIDENT_REPORTED.name, Route(
        decode=lambda raw: parse_event(raw, DAIncidentReported, lenient=True), apply=apply, after_commit=count,
        trace=lambda event: (event.id, event.traceparent)))
