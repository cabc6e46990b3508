"""The consumer's routes: DA incidents (counted per child so far; school
resolution, deadlines and delivery are issue 9's next steps) and the
enrolments that tell a child's school from its UPN."""

from __future__ import annotations

import uuid

from sqlmodel import Session

from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.schools import PupilEnrolled
from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED, SCHOOLS_ENROLMENTS
from frontdoor_platform.consumer import Consumed, Route, Routes

from . import store
from .metrics import Metrics

Incident = CloudEvent[DAIncidentReported]


def routes(metrics: Metrics) -> Routes:
    def apply(session: Session, event: Incident, where: Consumed) -> Incident:
        return event

    def count(event: Incident) -> None:
        for child in event.data.children:
            metrics.children_reported.labels(str(child.present).lower()).inc()

    def enrol(session: Session, event: CloudEvent[PupilEnrolled], where: Consumed) -> bool:
        data = event.data
        return store.record_enrolment(session, upn=data.upn, school_urn=data.school_urn, starts_on=data.starts_on,
                                      ends_on=data.ends_on, event_id=uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                 f"{event.source}\n{event.id}"),
                                      now=where.now)

    return (
        Routes()
        .add(CONTACTS_DA_INCIDENT_REPORTED.name, Route(
            decode=lambda raw: parse_event(raw, DAIncidentReported, lenient=True), apply=apply, after_commit=count,
            trace=lambda event: (event.id, event.traceparent)))
        .add(SCHOOLS_ENROLMENTS.name, Route(
            decode=lambda raw: parse_event(raw, PupilEnrolled, lenient=True), apply=enrol,
            after_commit=lambda changed: metrics.enrolments.inc() if changed else None,
            trace=lambda event: (event.id, event.traceparent)))
    )
