"""The consumer's routes: which handler takes each front-door and partner
data topic, and what is counted once its batch is durable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.retention import Schedule
from frontdoor_contracts.retention import configured as configured_schedule
from frontdoor_contracts.topics import CONTACTS, FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import Channel
from frontdoor_platform.privacy import Responder, add_privacy_route
from frontdoor_platform.routes import Consumed, Route, Routes

from . import handlers, lookups, partner_data
from .metrics import Metrics
from .models import READ_LOG, OutboxEvent
from .person_keys import Sealing
from .privacy.hooks import ContactsPrivacy
from .settings import Settings


@dataclass(frozen=True)
class Recorded:
    outcome: handlers.Outcome
    event: CloudEvent[ContactSubmitted]
    channel: Channel


def _trace(event: CloudEvent[Any]) -> tuple[str | None, str | None]:
    return event.id, event.traceparent


def _describe(outcome: handlers.Outcome) -> dict[str, Any]:
    return {"contact_id": str(outcome.contact_id), "duplicate": outcome.duplicate, "parked": outcome.parked}


def routes(settings: Settings, metrics: Metrics, schedule: Schedule | None = None,
           sealing: Sealing | None = None) -> Routes:
    """Every topic the service consumes (the schedule and the wrapping keys: the ones configured unless
    given), privacy requests among them (answered by the kit's `Responder` with `ContactsPrivacy`)."""
    sealing = sealing or Sealing.of(settings)
    apply, count = _Apply(settings, sealing), _Count(metrics)
    table = (
        Routes()
        .add(FRONTDOOR_CONTACTS.name, Route(
            decode=lambda raw: parse_event(raw, ContactSubmitted, lenient=True), apply=apply.contact,
            prefetch=lookups.prefetch,
            after_commit=count.contact, trace=_trace, describe=lambda r: _describe(r.outcome)))
        .add(FRONTDOOR_DECISIONS.name, Route(
            decode=lambda raw: parse_event(raw, DecisionSubmitted, lenient=True), apply=apply.decision,
            prefetch=lookups.prefetch_decisions,
            after_commit=lambda outcome: count.outcome(FRONTDOOR_DECISIONS.name, outcome), trace=_trace,
            describe=_describe))
    )
    for topic, event_type in partner_data.TOPICS.items():
        table.add(topic, Route(
            decode=_decoder(event_type), apply=apply.partner_record,
            prefetch=lookups.prefetch_partner_records,
            after_commit=count.fact(topic), trace=_trace, describe=_describe_fact))
    responder = Responder(service=CONTACTS, source=settings.source_uri, hooks=ContactsPrivacy(),
                          schedule=schedule or configured_schedule(), reads=READ_LOG, outbox=OutboxEvent,
                          wrapping_key=lambda: sealing.own.key)
    return add_privacy_route(table, responder)


@dataclass(frozen=True)
class _Apply:
    """Each topic's handler, with the settings and keys it takes."""

    settings: Settings
    sealing: Sealing

    def contact(self, session: Session, event: CloudEvent[ContactSubmitted], where: Consumed) -> Recorded:
        channel = handlers.channel_of(event, self.settings.api_source)
        outcome = handlers.record_contact(session, event, channel, self.settings.source_uri, where.now,
                                          sealing=self.sealing, window_months=self.settings.re_referral_window_months)
        return Recorded(outcome, event, channel)

    def decision(self, session: Session, event: CloudEvent[DecisionSubmitted], where: Consumed) -> handlers.Outcome:
        return handlers.record_decision(session, event, self.settings.source_uri, where.now,
                                        window_months=self.settings.re_referral_window_months)

    def partner_record(self, session: Session, event: CloudEvent[partner_data.PartnerEvent],
                       where: Consumed) -> partner_data.FactOutcome:
        return partner_data.record_partner_fact(session, event, self.settings.source_uri, where.now)


@dataclass(frozen=True)
class _Count:
    """What is counted once a batch is durable."""

    metrics: Metrics

    def outcome(self, topic: str, outcome: handlers.Outcome) -> None:
        metrics = self.metrics
        if outcome.duplicate:
            metrics.duplicates.labels(topic).inc()
        if outcome.parked:
            metrics.decisions_parked.inc()
        for decision in outcome.decisions:
            metrics.decisions.labels(decision.value).inc()
        for reason in outcome.dead_lettered:
            metrics.dead_lettered.labels(FRONTDOOR_DECISIONS.name, reason).inc()
        metrics.referrals.inc(outcome.referrals)
        metrics.re_referrals.inc(outcome.re_referrals)

    def contact(self, result: Recorded) -> None:
        self.outcome(FRONTDOOR_CONTACTS.name, result.outcome)
        if not result.outcome.duplicate:
            self.metrics.contacts_received.labels(result.event.data.referrer_source.value,
                                                  result.channel.value).inc()
            if result.event.data.da_incident is not None:
                self.metrics.da_incidents.inc()

    def fact(self, topic: str) -> Callable[[partner_data.FactOutcome], None]:
        def count_fact(outcome: partner_data.FactOutcome) -> None:
            if outcome.duplicate:
                self.metrics.duplicates.labels(topic).inc()
            else:
                self.metrics.partner_records.labels(outcome.dataset.value,
                                                    "created" if outcome.person_created else "matched").inc()
        return count_fact


def _decoder(event_type: type[EventData]) -> Callable[[bytes], CloudEvent[Any]]:
    return lambda raw: parse_event(raw, event_type, lenient=True)


def _describe_fact(outcome: partner_data.FactOutcome) -> dict[str, Any]:
    return {"fact_id": str(outcome.fact_id), "dataset": outcome.dataset.value, "duplicate": outcome.duplicate,
            "person_created": outcome.person_created}
