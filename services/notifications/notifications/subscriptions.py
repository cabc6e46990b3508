"""The Kafka topics the service consumes, a kit `Route` per topic: DA
incidents (a notification per child and school), allocation events
(messages to agencies), and the enrolments that tell a child's school from
its UPN. Each route decodes, hands the event to `handlers` (or `store`) and
counts what the batch did once it is committed."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.allocation import CaseAllocated, OfferOverdue
from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.schools import PupilEnrolled
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_OFFER_OVERDUE,
    CONTACTS_DA_INCIDENT_REPORTED,
    SCHOOLS_ENROLMENTS,
)
from frontdoor_platform.routes import Consumed, Route, Routes

from . import handlers, store
from .domain.outcome import Outcome
from .handlers import Rules
from .metrics import Metrics


def _trace(event: CloudEvent[Any]) -> tuple[str | None, str | None]:
    return event.id, event.traceparent


def _decoder(model: type[EventData]) -> Callable[[bytes], CloudEvent[Any]]:
    return lambda raw: parse_event(raw, model, lenient=True)


def routes(rules: Rules, metrics: Metrics, created: Callable[[], None]) -> Routes:
    """`created` is called once a batch that made notifications is committed (wakes the delivery queue)."""

    def counted(outcome: Outcome) -> None:
        metrics.record(outcome)
        if outcome.created:
            created()

    def incident(session: Session, event: CloudEvent[DAIncidentReported], where: Consumed) -> Outcome:
        for child in event.data.children:
            metrics.children_reported.labels(str(child.present).lower()).inc()
        outcome = Outcome()
        handlers.on_da_incident(session, f"{event.source}\n{event.id}", event.data, rules, where.now, outcome)
        return outcome

    def allocated(session: Session, event: CloudEvent[CaseAllocated], where: Consumed) -> Outcome:
        outcome = Outcome()
        handlers.on_case_allocated(session, f"{event.source}\n{event.id}", event.data, where.now, outcome)
        return outcome

    def overdue(session: Session, event: CloudEvent[OfferOverdue], where: Consumed) -> Outcome:
        outcome = Outcome()
        handlers.on_offer_overdue(session, f"{event.source}\n{event.id}", event.data, rules, where.now, outcome)
        return outcome

    def enrol(session: Session, event: CloudEvent[PupilEnrolled], where: Consumed) -> bool:
        data = event.data
        return store.record_enrolment(session, upn=data.upn, school_urn=data.school_urn, starts_on=data.starts_on,
                                      ends_on=data.ends_on, event_id=uuid.uuid5(uuid.NAMESPACE_URL,
                                                                                 f"{event.source}\n{event.id}"),
                                      now=where.now)

    return (
        Routes()
        .add(CONTACTS_DA_INCIDENT_REPORTED.name, Route(
            decode=_decoder(DAIncidentReported), apply=incident, after_commit=counted, trace=_trace))
        .add(ALLOCATION_CASE_ALLOCATED.name, Route(
            decode=_decoder(CaseAllocated), apply=allocated, after_commit=counted, trace=_trace))
        .add(ALLOCATION_OFFER_OVERDUE.name, Route(
            decode=_decoder(OfferOverdue), apply=overdue, after_commit=counted, trace=_trace))
        .add(SCHOOLS_ENROLMENTS.name, Route(
            decode=_decoder(PupilEnrolled), apply=enrol,
            after_commit=lambda changed: metrics.enrolments.inc() if changed else None, trace=_trace))
    )
