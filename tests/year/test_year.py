"""The seeds' year, generated (frontdoor_stack.year): a seeded year lands on
the seeds' figures within tolerances, computed from the stream the way the
outcomes service counts; the same seed gives the same stream; the stream is
in time order, synthetic, and every event is valid on the wire and at the
API. No broker, no services."""

from __future__ import annotations

import itertools
import json
import logging
import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import holidays
import pytest

from allocation.api import AllocationRequest, AnswerRequest, ClosureRequest, OfferRequest, StepUpRequest
from allocation.domain.triggers import Trigger
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.identifiers import is_valid_nhs_number
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import CaseSource, Concern, ReferrerSource
from frontdoor_stack.year import CaseMove, Move, Publish, generate, load
from frontdoor_stack.year.calendar import bank_holidays
from frontdoor_stack.year.events import ContactFact, Expect, YearEvent
from frontdoor_stack.year.expected import Expected, expected, share
from frontdoor_stack.year.generator import year_end
from frontdoor_stack.year.parameters import ParameterError, Parameters, validate
from frontdoor_stack.year.wire import decision_case_id

REPO = Path(__file__).resolve().parents[2]
PARAMS = load()
SEEDS = json.loads((REPO / "deploy/stack/frontdoor_stack/year/parameters.json").read_text())


@pytest.fixture(scope="module")
def year() -> list[YearEvent]:
    return list(generate(PARAMS, 1))


@pytest.fixture(scope="module")
def figures(year: list[YearEvent]) -> Expected:
    start = PARAMS.start
    return expected(year, start, year_end(start), year_end(start, 24), PARAMS.target)


def month(seed: int) -> list[YearEvent]:
    return list(generate(PARAMS, seed, months=1, follow_up_months=1))


# --- the seeds' figures -------------------------------------------------------------------------------------------

def test_about_twelve_thousand_contacts_police_the_largest_source_and_da_the_top_concern(
        year: list[YearEvent], figures: Expected) -> None:
    assert 12_000 * 0.95 <= figures.contacts <= 12_000 * 1.05
    assert max(figures.by_source, key=lambda s: figures.by_source[s]) == ReferrerSource.POLICE.value
    concerns: Counter[str] = Counter()
    for event in year:
        if isinstance(event, Publish) and event.topic == FRONTDOOR_CONTACTS.name:
            concerns.update(parse_event(event.value, ContactSubmitted).data.concerns)
    assert concerns.most_common(1)[0][0] == Concern.DOMESTIC_ABUSE


def test_under_twenty_percent_statutory_and_re_referrals_near_twenty_two_percent(figures: Expected) -> None:
    statutory, re_referral = share(figures.statutory), share(figures.re_referrals)
    assert statutory is not None and 0.10 < statutory < 0.20
    assert re_referral is not None and abs(re_referral - 0.22) <= 0.02


def test_most_offers_within_ten_working_days_and_some_overdue(figures: Expected) -> None:
    within = share(figures.within_target)
    assert figures.offers > 1000
    assert within is not None and within >= 0.90
    assert figures.late_offers > 0 and figures.overdue_cases > 0 and figures.due_soon_cases > 0


def test_closures_split_as_wokingham_per_child(figures: Expected) -> None:
    seeds = SEEDS["parameters"]["closure_per_child_seed"]["value"]
    for category, seed in seeds.items():
        found = share(figures.by_category[category])
        assert found is not None and abs(found - seed) <= 0.02, category


def test_closed_cases_not_re_referred_as_reading(figures: Expected) -> None:
    assert figures.not_yet_known == 0  # the follow-up covers every closure of the year
    early_help, social_care = share(figures.not_back_to_early_help), share(figures.not_back_to_social_care)
    assert early_help is not None and abs(early_help - 0.96) <= 0.02
    assert social_care is not None and abs(social_care - 0.88) <= 0.02


def test_families_identified_in_data_have_cases_and_some_sustain_outcomes(figures: Expected) -> None:
    assert figures.cases_opened[CaseSource.IDENTIFIED_IN_DATA.value] > 300
    assert figures.sustained_families > 0


def test_da_notifications_on_school_days_and_in_holidays_some_acknowledged_late(figures: Expected) -> None:
    assert 0 < figures.da_next_day_school < figures.da_notifications
    # every notification is acknowledged; those of the year's last days after it ends
    assert 0.98 * figures.da_notifications <= figures.acknowledgements <= figures.da_notifications
    assert 0 < figures.late_acknowledgements < figures.acknowledgements / 2


# --- the stream ------------------------------------------------------------------------------------------------------

def test_the_same_seed_gives_the_same_stream_another_seed_another() -> None:
    first, again, other = month(1), month(1), month(2)
    assert first == again
    assert first != other


def test_in_time_order_and_a_month_is_small(year: list[YearEvent]) -> None:
    assert all(a.at <= b.at for a, b in itertools.pairwise(year))
    assert year[-1].at < year_end(PARAMS.start, 24)
    one = month(1)
    assert 500 < sum(isinstance(e, Publish) and e.topic == FRONTDOOR_CONTACTS.name for e in one) < 1500
    assert len(one) < len(year) / 8


def test_wire_values_are_contract_events_and_moves_are_api_requests(year: list[YearEvent]) -> None:
    bodies = {Move.ALLOCATE: AllocationRequest, Move.OFFER: OfferRequest, Move.ANSWER: AnswerRequest,
              Move.CLOSE: ClosureRequest, Move.STEP_UP: StepUpRequest}
    times = {Move.ALLOCATE: "allocated_at", Move.OFFER: "offered_at", Move.ANSWER: "answered_at",
             Move.CLOSE: "closed_at", Move.STEP_UP: "stepped_up_at"}
    moved = set()
    for event in year[:20_000]:
        if isinstance(event, Publish) and event.topic == FRONTDOOR_DECISIONS.name:
            assert parse_event(event.value, DecisionSubmitted).data.decided_at == event.at
        elif isinstance(event, CaseMove):
            body = bodies[event.move].model_validate(event.body)
            assert getattr(body, times[event.move]) == event.at  # every move at its own business instant
            moved.add(event.move)
    assert moved == set(Move)


def test_case_ids_are_those_the_allocation_service_derives(year: list[YearEvent]) -> None:
    refs = {e.case.key: e.case for e in year if isinstance(e, Expect)}
    decided = [r for r in refs.values() if r.source is not CaseSource.IDENTIFIED_IN_DATA]
    assert decided and all(r.case_id is not None and r.contact_id is not None for r in decided)
    for ref in decided[:50]:
        assert ref.contact_id is not None
        trigger = Trigger(source=ref.source, event_source=PARAMS.contacts_source,
                          event_id=str(uuid.uuid5(ref.contact_id, "decided")), family_id=uuid.uuid4(),
                          occurred_at=PARAMS.start, child_ids=(uuid.uuid4(),))
        assert trigger.case_id == ref.case_id == decision_case_id(PARAMS.contacts_source, ref.contact_id)
    identified = [r for r in refs.values() if r.source is CaseSource.IDENTIFIED_IN_DATA]
    assert identified and all(r.case_id is None and (r.contact_id or r.partner_records) for r in identified)


def test_identities_are_synthetic_and_no_nhs_number_names_two_families(year: list[YearEvent]) -> None:
    owner: dict[str, str] = {}
    for event in year:
        if isinstance(event, Publish) and isinstance(event.fact, ContactFact):
            data = parse_event(event.value, ContactSubmitted).data
            for person in [*data.children, *data.adults]:
                assert person.postcode is None or person.postcode.startswith("ZZ99")
                if person.nhs_number:
                    assert person.nhs_number.startswith("999") and is_valid_nhs_number(person.nhs_number)
                    assert owner.setdefault(person.nhs_number, event.fact.family) == event.fact.family


def test_generating_logs_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG):
        month(3)
    assert caplog.records == []


# --- parameters and calendar ----------------------------------------------------------------------------------------

def test_every_parameter_has_a_source_and_splits_sum_to_one() -> None:
    assert SEEDS["version"]
    for name, entry in SEEDS["parameters"].items():
        assert entry["source"].strip(), name
        if entry.get("sums_to_one"):
            assert abs(sum(entry["value"].values()) - 1) < 1e-9, name
    assert isinstance(PARAMS, Parameters) and PARAMS.version == SEEDS["version"]


@pytest.mark.parametrize("broken, rule", [
    ({"contacts_per_year": {"value": 12000}}, "names its source"),
    ({"referrer_source": {"value": {"police": 0.5, "school": 0.4}, "sums_to_one": True, "source": "x"}}, "sum to 1"),
    ({"declined_share": {"value": 1.5, "source": "x"}}, "from 0 to 1"),
    ({"case_weeks": {"value": [26, 8], "source": "x"}}, "low <= high"),
])
def test_a_broken_parameters_file_is_refused_naming_the_entry(broken: dict[str, object], rule: str) -> None:
    document = {"version": "x", "parameters": {**SEEDS["parameters"], **broken}}
    with pytest.raises(ParameterError, match=rule):
        validate(document)
    with pytest.raises(ParameterError, match="version"):
        validate({"parameters": SEEDS["parameters"]})


def test_bank_holidays_agree_with_the_services_library() -> None:
    for year in range(2000, 2036):
        # The library also lists a holiday on its weekend day beside the weekday it moves to (observed).
        library = {day for day in holidays.country_holidays("GB", subdiv="ENG", years=year) if day.weekday() < 5}
        assert bank_holidays(year) == library, year


def test_school_terms_are_the_notifications_services_example() -> None:
    shipped = json.loads((REPO / "services/notifications/notifications/term_dates.json").read_text())
    terms = SEEDS["parameters"]["school_terms"]["value"]
    assert terms["terms"] == [[t["first_day"], t["last_day"]] for t in shipped["terms"]]
    assert terms["closed_days"] == shipped["closed_days"]
    first_day, last_day = PARAMS.school_terms.terms[0][0], PARAMS.school_terms.terms[-1][1]
    assert first_day <= (PARAMS.start + timedelta(days=7)).date() and last_day >= year_end(PARAMS.start).date()


def test_the_player_derives_the_fact_ids_the_contacts_service_gives() -> None:
    from contacts.domain.partner_facts import fact_id_for
    from frontdoor_contracts.vocabulary import PartnerDataset
    from frontdoor_stack.year.events import PartnerRecordRef
    from frontdoor_stack.year.finding import fact_id

    for dataset in PartnerDataset:
        record = PartnerRecordRef("urn:la:data-team", dataset.value, "REF-1")
        assert fact_id(record) == fact_id_for("urn:la:data-team", dataset, "REF-1")
