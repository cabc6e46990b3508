"""The allocation and family-identified events: bounded vocabularies, identifiers
instead of names, and the invariants a producer cannot break."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from frontdoor_contracts.allocation import (
    CaseAllocated,
    CaseOpened,
    OfferDueSoon,
    OfferOverdue,
    StepDownRequested,
    case_id_for,
)
from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.outcomes import FamilyIdentified
from frontdoor_contracts.vocabulary import AgencyKind, HeadlineProblem

Example = Callable[[str], dict[str, Any]]
OPENED = "uk.gov.frontdoor.allocation.case-opened.v1"
ALLOCATED = "uk.gov.frontdoor.allocation.case-allocated.v1"
IDENTIFIED = "uk.gov.frontdoor.outcomes.family-identified.v1"
STEP_DOWN = "uk.gov.frontdoor.step-down.requested.v1"
DUE_SOON = "uk.gov.frontdoor.allocation.offer-due-soon.v1"
OVERDUE = "uk.gov.frontdoor.allocation.offer-overdue.v1"


def _raw(document: dict[str, Any]) -> bytes:
    return json.dumps(document).encode()


def test_headline_problems_are_the_six_troubled_families_problems() -> None:
    assert {p.value for p in HeadlineProblem} == {
        "school_attendance", "crime_asb", "children_in_need", "worklessness", "domestic_abuse", "health"}


def test_agency_kinds_are_bounded() -> None:
    assert {k.value for k in AgencyKind} == {
        "school", "health_visiting", "school_nursing", "voluntary_sector", "la_early_help", "police", "housing",
        "other"}


def test_unknown_headline_problem_is_refused(example: Example) -> None:
    document = example(IDENTIFIED)
    document["data"]["headline_problems"] = ["school_attendance", "poverty"]
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), FamilyIdentified)
    assert caught.value.field == "data.headline_problems[1]"


@pytest.mark.parametrize("field", ["headline_problems", "child_ids"])
def test_family_identified_lists_are_unique_and_not_empty(example: Example, field: str) -> None:
    document = example(IDENTIFIED)
    document["data"][field] = document["data"][field][:1] * 2
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), FamilyIdentified)
    assert caught.value.field == f"data.{field}"
    document["data"][field] = []
    with pytest.raises(InvalidEvent):
        parse_event(_raw(document), FamilyIdentified)


@pytest.mark.parametrize("name", ["Jane Smith", "", " ", "a" * 65, "-lead"])
def test_lead_professional_is_an_identifier_never_a_name(example: Example, name: str) -> None:
    document = example(ALLOCATED)
    document["data"]["lead_professional_ref"] = name
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), CaseAllocated)
    assert caught.value.field == "data.lead_professional_ref"
    assert name.strip() == "" or name not in str(caught.value)


def test_step_down_decided_by_is_an_identifier(example: Example) -> None:
    document = example(STEP_DOWN)
    document["data"]["decided_by"] = "Sam Social Worker"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), StepDownRequested)
    assert caught.value.field == "data.decided_by"


def test_unknown_agency_kind_is_refused(example: Example) -> None:
    document = example(ALLOCATED)
    document["data"]["agency_kind"] = "gp_surgery"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), CaseAllocated)
    assert caught.value.field == "data.agency_kind"


def test_due_before_start_is_refused(example: Example) -> None:
    document = example(OPENED)
    document["data"]["due_at"] = "2025-04-10T00:00:00Z"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), CaseOpened)
    assert caught.value.reason == "invalid_data"


def test_case_times_must_carry_a_zone(example: Example) -> None:
    document = example(OPENED)
    document["data"]["started_at"] = "2025-04-11T16:45:00"
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), CaseOpened)
    assert caught.value.field == "data.started_at"


@pytest.mark.parametrize(("event_type", "model"), [(DUE_SOON, OfferDueSoon), (OVERDUE, OfferOverdue)])
@pytest.mark.parametrize("status", ["offer_made", "accepted", "declined", "stepped_up"])
def test_due_soon_and_overdue_are_only_for_cases_waiting_for_an_offer(
    example: Example, event_type: str, model: type[OfferDueSoon] | type[OfferOverdue], status: str
) -> None:
    document = example(event_type)
    document["data"]["status"] = status
    with pytest.raises(InvalidEvent) as caught:
        parse_event(_raw(document), model)
    assert caught.value.field == "data.status"


def test_case_id_is_stable_for_the_triggering_event() -> None:
    first = case_id_for("urn:frontdoor:contacts", "event-1")
    assert first == case_id_for("urn:frontdoor:contacts", "event-1")
    assert first != case_id_for("urn:frontdoor:contacts", "event-2")
    assert first != case_id_for("urn:frontdoor:outcomes", "event-1")
    assert isinstance(first, uuid.UUID) and first.version == 5


def test_a_family_identified_in_data_opens_a_case_without_a_level_of_need(example: Example) -> None:
    document = example(OPENED)
    data = document["data"]
    data.update(source="identified_in_data", contact_id=None, decision=None, level_of_need=None, concerns=[],
                headline_problems=["worklessness", "crime_asb"])
    event = parse_event(_raw(document), CaseOpened)
    assert event.data.level_of_need is None and event.data.headline_problems == [
        HeadlineProblem.WORKLESSNESS, HeadlineProblem.CRIME_ASB]
