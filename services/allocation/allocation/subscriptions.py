"""The Kafka topics this service consumes, a kit `Route` each: every trigger
topic decoded (by `incoming`) to a domain trigger, or to nothing (a decision
that opens no case), and applied to the family's case; families merged; and
privacy requests, answered by the kit's responder (`privacy`). Each route's prefetch names the families its
records in the batch touch (`family_locks.expect`), so the batch's first change holds them all, in one order,
whichever worker reads which partition."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.allocation import StepDownRequested
from frontdoor_contracts.contacts import ContactDecided, FamiliesMerged
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.outcomes import FamilyIdentified
from frontdoor_contracts.retention import Schedule
from frontdoor_contracts.topics import (
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    FRONTDOOR_STEP_DOWNS,
    OUTCOMES_FAMILY_IDENTIFIED,
)
from frontdoor_platform.privacy import add_privacy_route
from frontdoor_platform.routes import Consumed, Route, Routes

from . import family_locks, handlers, privacy
from .domain.families import TriggerOutcome
from .domain.transitions import IllegalTransition
from .domain.triggers import Trigger
from .incoming import trigger_from_decided, trigger_from_family_identified, trigger_from_step_down
from .metrics import Metrics

Applied = tuple[Trigger, TriggerOutcome] | None
Decoded = tuple[CloudEvent[Any], Trigger | None]


def _decoder(model: type[EventData], to_trigger: Callable[[Any], Trigger | None]) -> Callable[[bytes], Decoded]:
    def decode(raw: bytes) -> Decoded:
        event = parse_event(raw, model, lenient=True)
        return event, to_trigger(event)

    return decode


def _expect_triggers(session: Session, batch: Sequence[Decoded]) -> None:
    family_locks.expect(session, (trigger.family_id for _, trigger in batch if trigger is not None))


def _expect_merges(session: Session, batch: Sequence[CloudEvent[FamiliesMerged]]) -> None:
    family_locks.expect(session, (f for event in batch for f in (event.data.family_id, *event.data.merged_family_ids)))


def routes(rules: handlers.Rules, metrics: Metrics, schedule: Schedule) -> Routes:
    """Every topic consumed; `schedule` says what a privacy request's erasure may touch."""
    def apply(session: Session, decoded: Decoded, where: Consumed) -> Applied:
        _, trigger = decoded
        if trigger is None:
            return None  # a decision that opens nothing
        try:
            outcome, _ = handlers.on_trigger(session, trigger, rules, where.now)
        except IllegalTransition as refused:  # the record's fault: it cannot apply to this case
            raise InvalidEvent("cannot_apply", [FieldError("", "illegal_transition", str(refused))]) from None
        return trigger, outcome

    def count(applied: Applied) -> None:
        if applied is None:
            return
        trigger, outcome = applied
        if outcome is TriggerOutcome.OPENED:
            metrics.cases_opened.labels(trigger.source.value).inc()
        elif outcome is TriggerOutcome.ATTACHED:
            metrics.triggers_attached.labels(trigger.source.value).inc()

    def route(model: type[EventData], to_trigger: Callable[[Any], Trigger | None]) -> Route[Decoded, Applied]:
        return Route(decode=_decoder(model, to_trigger), apply=apply, prefetch=_expect_triggers, after_commit=count,
                     trace=lambda decoded: (decoded[0].id, decoded[0].traceparent),
                     describe=lambda applied: {"outcome": applied[1].value if applied else "no_case"})

    def apply_merge(session: Session, event: CloudEvent[FamiliesMerged], where: Consumed) -> int:
        return handlers.on_families_merged(session, event.data.family_id, event.data.merged_family_ids, where.now)

    return add_privacy_route(
        Routes()
        .add(CONTACTS_FAMILIES_MERGED.name, Route(
            decode=lambda raw: parse_event(raw, FamiliesMerged, lenient=True), apply=apply_merge,
            prefetch=_expect_merges,
            after_commit=lambda changed: metrics.families_merged.inc() if changed else None,
            trace=lambda event: (event.id, event.traceparent), describe=lambda changed: {"cases_changed": changed}))
        .add(CONTACTS_DECIDED.name, route(ContactDecided, lambda e: trigger_from_decided(e, rules.nfa)))
        .add(FRONTDOOR_STEP_DOWNS.name, route(StepDownRequested, trigger_from_step_down))
        .add(OUTCOMES_FAMILY_IDENTIFIED.name, route(FamilyIdentified, trigger_from_family_identified)),
        privacy.responder(rules.source_uri, schedule))
