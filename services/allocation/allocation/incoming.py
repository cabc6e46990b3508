"""Contract events in, domain objects out: the events that trigger a case,
as domain `Trigger`s (or None: a decision that opens nothing). Pure."""

from __future__ import annotations

from frontdoor_contracts.allocation import StepDownRequested
from frontdoor_contracts.contacts import ContactDecided
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.outcomes import FamilyIdentified
from frontdoor_contracts.vocabulary import CaseSource, ReferrerSource

from .domain.triggers import NfaReviewPolicy, Trigger, case_source_for_decision


def trigger_from_decided(event: CloudEvent[ContactDecided], policy: NfaReviewPolicy) -> Trigger | None:
    data = event.data
    source = case_source_for_decision(data.decision, data.level_of_need, policy)
    if source is None:
        return None
    return Trigger(
        source=source,
        event_source=event.source,
        event_id=event.id,
        family_id=data.family_id,
        occurred_at=data.decided_at,
        child_ids=tuple(child.child_id for child in data.children),
        contact_id=data.contact_id,
        decision=data.decision,
        level_of_need=data.level_of_need,
        concerns=tuple(data.concerns),
        referrer_source=str(data.referrer_source.value if isinstance(data.referrer_source, ReferrerSource)
                            else data.referrer_source),
        child_ages=tuple((child.child_id, child.age_years) for child in data.children if child.age_years is not None),
    )


def trigger_from_step_down(event: CloudEvent[StepDownRequested]) -> Trigger:
    data = event.data
    return Trigger(
        source=CaseSource.STEP_DOWN,
        event_source=event.source,
        event_id=event.id,
        family_id=data.family_id,
        occurred_at=data.stepped_down_at,
        child_ids=tuple(data.child_ids),
        contact_id=data.contact_id,
        level_of_need=data.level_of_need,
        concerns=tuple(data.concerns),
    )


def trigger_from_family_identified(event: CloudEvent[FamilyIdentified]) -> Trigger:
    data = event.data
    return Trigger(
        source=CaseSource.IDENTIFIED_IN_DATA,
        event_source=event.source,
        event_id=event.id,
        family_id=data.family_id,
        occurred_at=data.identified_at,
        child_ids=tuple(data.child_ids),
        headline_problems=tuple(data.headline_problems),
    )
