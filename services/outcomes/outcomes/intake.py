"""The consumer's routes. So far: contacts recorded, counted by source (the
families' picture, outcome plans and KPIs are issue 10, with faust)."""

from __future__ import annotations

from sqlmodel import Session

from frontdoor_contracts.contacts import ContactRecorded
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.topics import CONTACTS_RECORDED
from frontdoor_platform.consumer import Consumed, Route, Routes

from .metrics import Metrics

Recorded = CloudEvent[ContactRecorded]


def routes(metrics: Metrics) -> Routes:
    def apply(session: Session, event: Recorded, where: Consumed) -> str:
        return event.data.referrer_source.value

    return Routes().add(CONTACTS_RECORDED.name, Route(
        decode=lambda raw: parse_event(raw, ContactRecorded, lenient=True), apply=apply,
        after_commit=lambda source: metrics.contacts.labels(source).inc(),
        trace=lambda event: (event.id, event.traceparent)))
