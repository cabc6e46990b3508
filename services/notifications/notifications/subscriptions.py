"""The Kafka topics the service consumes, a kit `Route` per topic: DA
incidents (a notification per child and school), the people's keys that open
their sealed fields (a tombstone erases the person), allocation events
(messages to agencies), the enrolments that tell a child's school from its
UPN, and privacy requests (the kit's Responder with this service's hooks).
Each route decodes, hands the event to `handlers` (or `store`, `waiting`)
and counts what the batch did once it is committed; the person-key route
says when a tombstone erased (`erased_personal`), so the kit's consumer
checkpoints SQLite's write-ahead log after that batch."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.allocation import CaseAllocated, OfferOverdue
from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import PersonKeyIssued
from frontdoor_contracts.retention import Schedule, default
from frontdoor_contracts.schools import PupilEnrolled
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_OFFER_OVERDUE,
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_PERSON_KEYS,
    SCHOOLS_ENROLMENTS,
)
from frontdoor_platform.privacy import Responder, add_privacy_route
from frontdoor_platform.routes import Consumed, Route, Routes

from . import handlers, store, waiting
from .domain.outcome import Outcome
from .domain.schools import Resolution
from .handlers import Rules
from .keys import PersonErased, erased_from_key
from .metrics import Metrics
from .models import READ_LOG, OutboxEvent
from .privacy import NotificationsPrivacy

PersonKeyRecord = CloudEvent[PersonKeyIssued] | PersonErased


def _trace(event: CloudEvent[Any] | PersonErased) -> tuple[str | None, str | None]:
    return (event.id, event.traceparent) if isinstance(event, CloudEvent) else (None, None)


def responder(rules: Rules, schedule: Schedule) -> Responder:
    """The kit's privacy responder with this service's hooks; its share opens with the wrapping key."""
    return Responder(service="notifications", source=rules.source_uri, hooks=NotificationsPrivacy(rules.keys),
                     schedule=schedule, reads=READ_LOG, outbox=OutboxEvent,
                     wrapping_key=lambda: rules.keys.wrapping.key)


def erased_personal(outcome: Outcome) -> bool:
    """A tombstone erased something here (a key dropped, a notification's personal fields, a sealed incident
    waiting): the kit's consumer then checkpoints SQLite's write-ahead log after the commit, so the erased
    bytes leave it at once."""
    return bool(outcome.keys["erased"] or outcome.erased_for_person or outcome.resolutions[Resolution.ERASED])


def _decoder(model: type[EventData]) -> Callable[[bytes], CloudEvent[Any]]:
    return lambda raw: parse_event(raw, model, lenient=True)


def routes(rules: Rules, metrics: Metrics, created: Callable[[], None], schedule: Schedule | None = None) -> Routes:
    """`created` is called once a batch that made notifications is committed (wakes the delivery queue);
    `schedule` (the packaged one by default) says what a privacy request may erase."""

    def counted(outcome: Outcome) -> None:
        metrics.record(outcome)
        if outcome.created:
            created()

    def incident(session: Session, event: CloudEvent[DAIncidentReported], where: Consumed) -> Outcome:
        outcome = Outcome()
        handlers.on_da_incident(session, event, where, rules, outcome)
        outcome.reported.update(str(child.present).lower() for child in event.data.children)
        return outcome

    def person_key(session: Session, event: PersonKeyRecord, where: Consumed) -> Outcome:
        outcome = Outcome()
        if isinstance(event, PersonErased):
            handlers.on_person_erased(session, event.person_id, rules, where.now, outcome)
            waiting.resume(session, event.person_id, rules, where.now, outcome)
        else:
            handlers.on_person_key(session, event.data, rules, where.now, outcome)
            waiting.resume(session, event.data.person_id, rules, where.now, outcome)
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

    built = (
        Routes()
        .add(CONTACTS_DA_INCIDENT_REPORTED.name, Route(
            decode=_decoder(DAIncidentReported), apply=incident, after_commit=counted, trace=_trace))
        .add(CONTACTS_PERSON_KEYS.name, Route(
            decode=_decoder(PersonKeyIssued), apply=person_key, after_commit=counted, trace=_trace,
            tombstone=erased_from_key, erased=erased_personal))
        .add(ALLOCATION_CASE_ALLOCATED.name, Route(
            decode=_decoder(CaseAllocated), apply=allocated, after_commit=counted, trace=_trace))
        .add(ALLOCATION_OFFER_OVERDUE.name, Route(
            decode=_decoder(OfferOverdue), apply=overdue, after_commit=counted, trace=_trace))
        .add(SCHOOLS_ENROLMENTS.name, Route(
            decode=_decoder(PupilEnrolled), apply=enrol,
            after_commit=lambda changed: metrics.enrolments.inc() if changed else None, trace=_trace))
    )
    return add_privacy_route(built, responder(rules, schedule or default()))
