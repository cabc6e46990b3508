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
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import Channel
from frontdoor_platform.routes import Consumed, Route, Routes

from . import handlers, lookups, partner_data
from .metrics import Metrics
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


def routes(settings: Settings, metrics: Metrics) -> Routes:
    def apply_contact(session: Session, event: CloudEvent[ContactSubmitted], where: Consumed) -> Recorded:
        channel = handlers.channel_of(event, settings.api_source)
        outcome = handlers.record_contact(session, event, channel, settings.source_uri, where.now,
                                          window_months=settings.re_referral_window_months)
        return Recorded(outcome, event, channel)

    def apply_decision(session: Session, event: CloudEvent[DecisionSubmitted], where: Consumed) -> handlers.Outcome:
        return handlers.record_decision(session, event, settings.source_uri, where.now,
                                        window_months=settings.re_referral_window_months)

    def count(topic: str, outcome: handlers.Outcome) -> None:
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

    def after_contact(result: Recorded) -> None:
        count(FRONTDOOR_CONTACTS.name, result.outcome)
        if not result.outcome.duplicate:
            metrics.contacts_received.labels(result.event.data.referrer_source.value, result.channel.value).inc()
            if result.event.data.da_incident is not None:
                metrics.da_incidents.inc()

    def apply_partner_record(session: Session, event: CloudEvent[partner_data.PartnerEvent],
                             where: Consumed) -> partner_data.FactOutcome:
        return partner_data.record_partner_fact(session, event, settings.source_uri, where.now)

    def after_partner_record(topic: str) -> Callable[[partner_data.FactOutcome], None]:
        def count_fact(outcome: partner_data.FactOutcome) -> None:
            if outcome.duplicate:
                metrics.duplicates.labels(topic).inc()
            else:
                metrics.partner_records.labels(outcome.dataset.value,
                                               "created" if outcome.person_created else "matched").inc()
        return count_fact

    table = (
        Routes()
        .add(FRONTDOOR_CONTACTS.name, Route(
            decode=lambda raw: parse_event(raw, ContactSubmitted, lenient=True), apply=apply_contact,
            prefetch=lookups.prefetch,
            after_commit=after_contact, trace=_trace, describe=lambda r: _describe(r.outcome)))
        .add(FRONTDOOR_DECISIONS.name, Route(
            decode=lambda raw: parse_event(raw, DecisionSubmitted, lenient=True), apply=apply_decision,
            after_commit=lambda outcome: count(FRONTDOOR_DECISIONS.name, outcome), trace=_trace, describe=_describe))
    )
    for topic, event_type in partner_data.TOPICS.items():
        table.add(topic, Route(
            decode=_decoder(event_type), apply=apply_partner_record,
            prefetch=lookups.prefetch_partner_records,
            after_commit=after_partner_record(topic), trace=_trace, describe=_describe_fact))
    return table


def _decoder(event_type: type[EventData]) -> Callable[[bytes], CloudEvent[Any]]:
    return lambda raw: parse_event(raw, event_type, lenient=True)


def _describe_fact(outcome: partner_data.FactOutcome) -> dict[str, Any]:
    return {"fact_id": str(outcome.fact_id), "dataset": outcome.dataset.value, "duplicate": outcome.duplicate,
            "person_created": outcome.person_created}
