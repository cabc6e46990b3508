"""Which decisions open a case: Early Help always; NFA by the review policy; the rest never.
Step-downs and families identified in data always."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

import pytest

from allocation.domain.triggers import NfaReview, NfaReviewPolicy, case_source_for_decision
from allocation.incoming import trigger_from_decided, trigger_from_family_identified, trigger_from_step_down
from frontdoor_contracts.allocation import StepDownRequested, case_id_for
from frontdoor_contracts.contacts import ContactDecided, DecidedChild
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.outcomes import FamilyIdentified
from frontdoor_contracts.vocabulary import (
    CaseSource,
    Concern,
    Decision,
    HeadlineProblem,
    LevelOfNeed,
    ReferrerSource,
)

FAMILY = uuid.UUID("8c0d3b52-4e61-4f7a-9d1e-3a6b2c5f7e90")
CHILD = uuid.UUID("b3a1e6f0-7c42-4d1b-8e5a-0f9d2c6b4a71")
DECIDED_AT = datetime(2026, 12, 18, 18, 30, tzinfo=UTC)
ALL = NfaReviewPolicy(NfaReview.ALL)
NONE = NfaReviewPolicy(NfaReview.NONE)
LEVELS_2_3 = NfaReviewPolicy(NfaReview.BY_LEVEL, frozenset({LevelOfNeed.UNIVERSAL_PLUS, LevelOfNeed.TARGETED}))
NOT_EARLY_HELP = [d for d in Decision if d not in (Decision.EARLY_HELP, Decision.NO_FURTHER_ACTION)]


def decided(decision: Decision, level: LevelOfNeed = LevelOfNeed.TARGETED) -> CloudEvent[ContactDecided]:
    data = ContactDecided(
        contact_id=uuid.uuid4(), family_id=FAMILY, decision=decision, level_of_need=level, decided_at=DECIDED_AT,
        referrer_source=ReferrerSource.SCHOOL, concerns=[Concern.SCHOOL_ATTENDANCE, Concern.NEGLECT],
        children=[DecidedChild(child_id=CHILD, referral=False, re_referral=False)], referral=False, re_referral=False,
    )
    # processed (envelope time) two days after the decision: the clock must use decided_at
    event: CloudEvent[ContactDecided] = new_event(
        data, source="urn:frontdoor:contacts", time=datetime(2026, 12, 20, 9, 0, tzinfo=UTC))
    return event


@pytest.mark.parametrize("policy", [ALL, NONE, LEVELS_2_3], ids=["all", "none", "levels"])
@pytest.mark.parametrize("level", list(LevelOfNeed))
def test_early_help_always_opens_a_case(policy: NfaReviewPolicy, level: LevelOfNeed) -> None:
    assert case_source_for_decision(Decision.EARLY_HELP, level, policy) is CaseSource.EARLY_HELP_DECISION


@pytest.mark.parametrize("level", list(LevelOfNeed))
def test_nfa_review_all(level: LevelOfNeed) -> None:
    assert case_source_for_decision(Decision.NO_FURTHER_ACTION, level, ALL) is CaseSource.NFA_REVIEW


@pytest.mark.parametrize("level", list(LevelOfNeed))
def test_nfa_review_none(level: LevelOfNeed) -> None:
    assert case_source_for_decision(Decision.NO_FURTHER_ACTION, level, NONE) is None


@pytest.mark.parametrize(
    ("level", "reviewed"),
    [(LevelOfNeed.UNIVERSAL, False), (LevelOfNeed.UNIVERSAL_PLUS, True), (LevelOfNeed.TARGETED, True),
     (LevelOfNeed.SPECIALIST, False)],
)
def test_nfa_review_by_level_of_need(level: LevelOfNeed, reviewed: bool) -> None:
    expected = CaseSource.NFA_REVIEW if reviewed else None
    assert case_source_for_decision(Decision.NO_FURTHER_ACTION, level, LEVELS_2_3) is expected


@pytest.mark.parametrize("decision", NOT_EARLY_HELP)
def test_other_decisions_never_open_a_case(decision: Decision) -> None:
    assert case_source_for_decision(decision, LevelOfNeed.TARGETED, ALL) is None
    assert trigger_from_decided(decided(decision), ALL) is None


def test_the_default_policy_reviews_every_nfa() -> None:
    assert NfaReviewPolicy() == ALL


def test_a_decided_event_becomes_a_trigger_with_the_decision_time() -> None:
    event = decided(Decision.EARLY_HELP)
    trigger = trigger_from_decided(event, NONE)
    assert trigger is not None
    assert trigger.source is CaseSource.EARLY_HELP_DECISION
    assert trigger.occurred_at == DECIDED_AT != event.time
    assert trigger.family_id == FAMILY and trigger.child_ids == (CHILD,)
    assert trigger.contact_id == event.data.contact_id and trigger.decision is Decision.EARLY_HELP
    assert trigger.level_of_need is LevelOfNeed.TARGETED
    assert trigger.concerns == (Concern.SCHOOL_ATTENDANCE, Concern.NEGLECT)
    assert trigger.referrer_source == "school"
    assert trigger.case_id == case_id_for("urn:frontdoor:contacts", event.id)


def test_a_newer_producer_s_referrer_source_is_kept_as_it_came() -> None:
    raw = decided(Decision.EARLY_HELP).model_dump(mode="json")
    raw["data"]["referrer_source"] = "youth_club"  # a value a newer contacts service may add
    event = parse_event(json.dumps(raw).encode(), ContactDecided, lenient=True)
    trigger = trigger_from_decided(event, ALL)
    assert trigger is not None and trigger.referrer_source == "youth_club"


def test_a_redelivered_decision_maps_to_the_same_case_id() -> None:
    event = decided(Decision.NO_FURTHER_ACTION)
    first, again = trigger_from_decided(event, ALL), trigger_from_decided(event.model_copy(), ALL)
    assert first is not None and again is not None and first.case_id == again.case_id
    assert first.source is CaseSource.NFA_REVIEW


def test_step_down_trigger() -> None:
    stepped_down_at = datetime(2027, 3, 25, 16, 0, tzinfo=UTC)
    data = StepDownRequested(family_id=FAMILY, child_ids=[CHILD], level_of_need=LevelOfNeed.TARGETED,
                             concerns=[Concern.DOMESTIC_ABUSE], stepped_down_at=stepped_down_at, decided_by="SW-0412")
    event: CloudEvent[StepDownRequested] = new_event(data, source="urn:casesystem:csc")
    trigger = trigger_from_step_down(event)
    assert trigger.source is CaseSource.STEP_DOWN and trigger.occurred_at == stepped_down_at
    assert trigger.concerns == (Concern.DOMESTIC_ABUSE,) and trigger.level_of_need is LevelOfNeed.TARGETED


def test_family_identified_trigger() -> None:
    identified_at = datetime(2027, 5, 3, 9, 0, tzinfo=UTC)
    data = FamilyIdentified(family_id=FAMILY, child_ids=[CHILD], identified_at=identified_at,
                            headline_problems=[HeadlineProblem.WORKLESSNESS, HeadlineProblem.CRIME_ASB])
    event: CloudEvent[FamilyIdentified] = new_event(data, source="urn:frontdoor:outcomes")
    trigger = trigger_from_family_identified(event)
    assert trigger.source is CaseSource.IDENTIFIED_IN_DATA and trigger.occurred_at == identified_at
    assert trigger.level_of_need is None and trigger.concerns == ()
    assert trigger.headline_problems == (HeadlineProblem.WORKLESSNESS, HeadlineProblem.CRIME_ASB)


@pytest.mark.parametrize(
    ("text", "policy"),
    [("all", ALL), ("NONE", NONE), ("levels:2,3", LEVELS_2_3), (" levels: 3 , 2 ", LEVELS_2_3),
     ("levels:4", NfaReviewPolicy(NfaReview.BY_LEVEL, frozenset({LevelOfNeed.SPECIALIST})))],
)
def test_policy_from_configuration(text: str, policy: NfaReviewPolicy) -> None:
    assert NfaReviewPolicy.parse(text) == policy


@pytest.mark.parametrize("text", ["", "some", "levels:", "levels:5", "levels:two", "by_level"])
def test_bad_policy_configuration_is_refused_clearly(text: str) -> None:
    with pytest.raises(ValueError, match="NFA review"):
        NfaReviewPolicy.parse(text)


def test_a_policy_by_level_names_levels_and_only_it_does() -> None:
    with pytest.raises(ValueError, match="at least one level"):
        NfaReviewPolicy(NfaReview.BY_LEVEL)
    with pytest.raises(ValueError, match="only apply"):
        NfaReviewPolicy(NfaReview.ALL, frozenset({LevelOfNeed.TARGETED}))


def test_a_decision_keeps_the_ages_contacts_told_and_the_case_shows_them_oldest_first() -> None:
    from dataclasses import replace

    from allocation.domain.cases import Case
    from allocation.views import ages

    sibling, unknown = uuid.uuid4(), uuid.uuid4()
    plain = decided(Decision.EARLY_HELP)
    children = [DecidedChild(child_id=CHILD, referral=False, re_referral=False, age_years=4),
                DecidedChild(child_id=sibling, referral=False, re_referral=False, age_years=11),
                DecidedChild(child_id=unknown, referral=False, re_referral=False)]
    event = plain.model_copy(update={"data": plain.data.model_copy(update={"children": children})})
    trigger = trigger_from_decided(event, ALL)
    assert trigger is not None and dict(trigger.child_ages) == {CHILD: 4, sibling: 11}
    case = Case.open(trigger, opened_at=DECIDED_AT)
    assert ages(case) == [11, 4, None]
    later = replace(trigger, event_id="later", occurred_at=datetime(2027, 1, 5, tzinfo=UTC), child_ages=((CHILD, 5),))
    assert ages(case.attach(later)) == [11, 5, None]  # the latest decision's age of a child


def test_the_board_says_the_ages_in_words() -> None:
    from allocation.page.views import ages_text

    assert ages_text([11, 4]) == "aged 11 and 4"
    assert ages_text([9]) == "aged 9"
    assert ages_text([9, 7, None, None]) == "aged 9 and 7, 2 ages not known"
    assert ages_text([None]) is None and ages_text([]) is None
