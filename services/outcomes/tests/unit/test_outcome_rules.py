"""The outcome rules (pure): headline problems, identification in data,
plans, progress that must be sustained, relapses, claims."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from frontdoor_contracts.allocation import CaseClosed, CaseOpened
from frontdoor_contracts.partners import PartnerFactMatched
from frontdoor_contracts.vocabulary import HeadlineProblem as P
from outcomes.domain import outputs, updates
from outcomes.domain.days import start_of
from outcomes.domain.family import Family
from outcomes.domain.problems import headline_problems
from outcomes.domain.progress import evaluate
from outcomes.domain.thresholds import Thresholds

TH = Thresholds()
FAMILY = uuid.UUID("8c0d3b52-4e61-4f7a-9d1e-3a6b2c5f7e90")
CHILD, ADULT = uuid.uuid5(FAMILY, "child"), uuid.uuid5(FAMILY, "adult")
CASE = uuid.uuid5(FAMILY, "case")
OPENED = date(2026, 1, 5)


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def fact(family: Family, measure: dict[str, Any], *, child: bool = True, ref: str | None = None) -> None:
    data = PartnerFactMatched.model_validate({
        "fact_id": str(uuid.uuid5(FAMILY, ref or str(measure))), "person_id": str(CHILD if child else ADULT),
        "family_id": str(FAMILY), "is_child": child, "person_created": False,
        "matched_at": "2026-01-01T00:00:00Z", "measure": measure})
    updates.on_fact(family, data)


def term(year: str, name: str, starts: str, sessions: int = 120, absent: int = 0, excluded: int = 0) -> dict[str, Any]:
    return {"dataset": "attendance", "academic_year": year, "term": name, "term_starts_on": starts,
            "sessions_possible": sessions, "unauthorised_absences": absent, "fixed_term_exclusions": excluded}


def work(status: str, starts: date, ends: date | None = None, benefit: bool = False) -> dict[str, Any]:
    return {"dataset": "employment", "status": status, "out_of_work_benefit": benefit, "starts_on": str(starts),
            "ends_on": str(ends) if ends else None}


def offence(day: date, kind: str = "anti_social_behaviour", youth: bool = False) -> dict[str, Any]:
    return {"dataset": "offending", "occurred_on": str(day), "kind": kind, "youth": youth}


def opened(family: Family, problems: list[str] = ()) -> None:  # type: ignore[assignment]
    updates.on_case_opened(family, CaseOpened.model_validate({
        "case_id": str(CASE), "family_id": str(FAMILY), "source": "identified_in_data",
        "started_at": at(OPENED).isoformat(), "due_at": at(OPENED + timedelta(days=14)).isoformat(),
        "opened_at": at(OPENED).isoformat(), "child_ids": [str(CHILD)], "headline_problems": list(problems),
        "target_days": 10, "target_calendar": "working_days"}))


def family() -> Family:
    return Family(family_id=FAMILY, children={CHILD})


def test_attendance_that_improves_for_two_terms_then_relapses_is_not_progress() -> None:
    f = family()
    fact(f, term("2025/26", "autumn", "2025-09-03", absent=30))  # 25%: the problem
    assert P.SCHOOL_ATTENDANCE in headline_problems(f, date(2025, 12, 1), TH)
    opened(f)
    plan = f.plan
    assert plan is not None and P.SCHOOL_ATTENDANCE in evaluate(f, plan, OPENED, TH).problems
    fact(f, term("2025/26", "spring", "2026-01-05", absent=2))
    fact(f, term("2025/26", "summer", "2026-04-20", absent=1))
    # autumn and spring: 32 of 240 sessions (13.3%), met from spring; with summer 33 of 360
    assert evaluate(f, plan, date(2026, 7, 1), TH).met_from[P.SCHOOL_ATTENDANCE] == date(2026, 1, 5)
    fact(f, term("2026/27", "autumn", "2026-09-02", absent=60))  # relapse
    progress = evaluate(f, plan, date(2026, 12, 1), TH)
    assert progress.met_from[P.SCHOOL_ATTENDANCE] is None and progress.since is None
    fact(f, term("2026/27", "spring", "2027-01-05", absent=0))  # still 61/360 = 16.9% across the last three
    assert evaluate(f, plan, date(2027, 2, 1), TH).met_from[P.SCHOOL_ATTENDANCE] is None


def test_exclusions_straddling_terms_add_up_across_the_window() -> None:
    f = family()
    fact(f, term("2025/26", "autumn", "2025-09-03", excluded=1))
    opened(f, ["school_attendance"])
    plan = f.plan
    assert plan is not None
    fact(f, term("2025/26", "spring", "2026-01-05", excluded=1))
    assert evaluate(f, plan, date(2026, 3, 1), TH).met_from[P.SCHOOL_ATTENDANCE] == date(2026, 1, 5)  # 2 < 3
    fact(f, term("2025/26", "summer", "2026-04-20", excluded=1))  # 1 + 1 + 1 = 3 across the window
    assert evaluate(f, plan, date(2026, 6, 1), TH).met_from[P.SCHOOL_ATTENDANCE] is None
    fact(f, term("2026/27", "autumn", "2026-09-02"))  # autumn 2025 leaves the window: 1 + 1 + 0
    assert evaluate(f, plan, date(2026, 10, 1), TH).met_from[P.SCHOOL_ATTENDANCE] == date(2026, 9, 2)


def test_an_adult_in_work_one_week_short_of_the_threshold_then_out_is_no_claim() -> None:
    f = family()
    fact(f, work("unemployed", date(2025, 3, 1), benefit=True, ends=date(2026, 2, 1)), child=False, ref="b")
    opened(f)
    plan = f.plan
    assert plan is not None and P.WORKLESSNESS in evaluate(f, plan, OPENED, TH).problems
    start = date(2026, 2, 2)
    short = start + timedelta(weeks=TH.continuous_employment_weeks - 1)
    fact(f, work("employed", start, ends=short), child=False, ref="job")
    fact(f, work("unemployed", short + timedelta(days=1), benefit=True), child=False, ref="b2")
    later = evaluate(f, plan, date(2026, 12, 1), TH)
    assert later.employment_claim_on is None and later.met_from[P.WORKLESSNESS] is None  # back on benefits
    assert outputs.plan_outputs(f, date(2026, 12, 1), TH) == []


def test_continuous_employment_is_a_claim_on_its_own() -> None:
    f = family()
    fact(f, work("unemployed", date(2025, 3, 1), benefit=True, ends=date(2026, 2, 1)), child=False, ref="b")
    f.da_incidents = {"c1": date(2025, 12, 1), "c2": date(2026, 3, 1)}  # domestic abuse goes on: no sustained progress
    opened(f)
    assert f.plan is not None and evaluate(f, f.plan, OPENED, TH).problems == [P.DOMESTIC_ABUSE, P.WORKLESSNESS]
    start = date(2026, 2, 2)
    fact(f, work("employed", start), child=False, ref="job")
    reached = start + timedelta(weeks=TH.continuous_employment_weeks)
    assert outputs.plan_outputs(f, reached - timedelta(days=1), TH) == []
    [claim] = outputs.plan_outputs(f, reached, TH)
    assert isinstance(claim, outputs.ClaimMade) and claim.basis == "continuous_employment"
    assert claim.at == start_of(reached)
    assert outputs.plan_outputs(f, reached + timedelta(days=30), TH) == []  # once


def test_anti_social_behaviour_down_60_percent_sustained_six_months_is_an_outcome_once() -> None:
    f = family()
    for k in range(5):  # five incidents in the period before the plan
        fact(f, offence(OPENED - timedelta(days=20 + 30 * k)), ref=f"asb{k}")
    opened(f)
    plan = f.plan
    progress = evaluate(f, plan, OPENED, TH)
    assert progress.baseline.asb == 5 and progress.problems == [P.CRIME_ASB]
    fact(f, offence(OPENED + timedelta(days=40)), ref="after1")
    fact(f, offence(OPENED + timedelta(days=90)), ref="after2")  # 2 of 5 = down 60%: good enough
    first_end = OPENED + timedelta(days=TH.period_days)
    assert evaluate(f, plan, first_end, TH).met_from[P.CRIME_ASB] == first_end
    achieved = first_end + timedelta(days=TH.sustain_days)
    assert outputs.plan_outputs(f, achieved - timedelta(days=1), TH) == []
    said = outputs.plan_outputs(f, achieved, TH)
    assert [type(o) for o in said] == [outputs.Achieved, outputs.ClaimMade]
    assert outputs.plan_outputs(f, achieved + timedelta(days=100), TH) == []


def test_a_relapse_resets_the_sustain_clock() -> None:
    f = family()
    for k in range(5):
        fact(f, offence(OPENED - timedelta(days=20 + 30 * k)), ref=f"asb{k}")
    opened(f)
    plan = f.plan
    assert plan is not None
    first_end = OPENED + timedelta(days=TH.period_days)
    for k in range(3):  # three incidents in the second period: 3 of 5 is not down 60%
        fact(f, offence(first_end + timedelta(days=10 + k)), ref=f"relapse{k}")
    second_end = first_end + timedelta(days=TH.period_days)
    assert evaluate(f, plan, second_end, TH).met_from[P.CRIME_ASB] is None
    third_end = second_end + timedelta(days=TH.period_days)
    assert evaluate(f, plan, third_end, TH).met_from[P.CRIME_ASB] == third_end  # met again, clock restarted
    assert evaluate(f, plan, third_end + timedelta(days=TH.sustain_days - 1), TH).achieved_on is None


def test_youth_offending_must_fall_by_a_third() -> None:
    f = family()
    for k in range(3):
        fact(f, offence(OPENED - timedelta(days=30 + k), kind="proven_offence", youth=True), ref=f"y{k}")
    opened(f)
    plan = f.plan
    assert plan is not None and evaluate(f, plan, OPENED, TH).baseline.youth_offences == 3
    for k in range(3):  # 3 → 3 is no reduction
        fact(f, offence(OPENED + timedelta(days=30 + k), kind="proven_offence", youth=True), ref=f"a{k}")
    end = OPENED + timedelta(days=TH.period_days)
    assert evaluate(f, plan, end, TH).met_from[P.CRIME_ASB] is None
    del f.offences[uuid.uuid5(FAMILY, "a2")]  # 3 → 2 is down 33%
    assert evaluate(f, plan, end, TH).met_from[P.CRIME_ASB] == end


def test_a_family_with_one_problem_that_gains_a_second_is_identified_once() -> None:
    f = family()
    fact(f, offence(date(2026, 3, 1)), ref="asb")
    f.last_event_at = at(date(2026, 3, 1))
    assert outputs.identification(f, at(date(2026, 3, 1)), TH) is None  # one problem
    fact(f, {"dataset": "health", "category": "mental_health", "identified_on": "2026-04-10"}, child=False)
    f.last_event_at = at(date(2026, 4, 10))
    found = outputs.identification(f, at(date(2026, 4, 10)), TH)
    assert found is not None and found.problems == [P.CRIME_ASB, P.HEALTH] and found.child_ids == [CHILD]
    f.last_event_at = at(date(2026, 4, 11))
    assert outputs.identification(f, at(date(2026, 4, 11)), TH) is None  # once


def test_a_family_being_worked_with_is_not_identified_and_a_closed_one_only_after_the_quiet_period() -> None:
    f = family()
    fact(f, offence(date(2026, 1, 1)), ref="asb")
    fact(f, {"dataset": "health", "category": "mental_health", "identified_on": "2026-01-02"}, child=False)
    opened(f)
    f.last_event_at = at(date(2026, 2, 1))
    assert outputs.identification(f, at(date(2026, 2, 1)), TH) is None  # an open case
    closed_on = date(2026, 3, 1)
    updates.on_case_closed(f, CaseClosed.model_validate({
        "case_id": str(CASE), "family_id": str(FAMILY), "source": "identified_in_data",
        "started_at": at(OPENED).isoformat(), "due_at": at(OPENED + timedelta(days=14)).isoformat(),
        "closed_at": at(closed_on).isoformat(), "outcome": "no_change", "child_ids": [str(CHILD)],
        "closed_by": "LP-1"}))
    quiet_end = closed_on + timedelta(days=TH.quiet_days_after_closure)
    assert outputs.identification(f, start_of(quiet_end) - timedelta(seconds=1), TH) is None
    found = outputs.identification(f, start_of(quiet_end) + timedelta(days=3), TH)
    assert found is not None and found.at == start_of(quiet_end)  # the day it qualified, not the day looked
    assert outputs.output_id(found) == outputs.output_id(outputs.Identified(FAMILY, [CHILD], found.problems, found.at))


def test_merging_keeps_every_fact_and_case() -> None:
    one, other = family(), Family(family_id=uuid.uuid4(), adults={ADULT})
    fact(one, offence(date(2026, 1, 1)), ref="asb")
    fact(other, {"dataset": "health", "category": "mental_health", "identified_on": "2026-01-02"}, child=False)
    merged = one.merged_with(other)
    assert merged.family_id == FAMILY and merged.adults == {ADULT} and len(merged.offences) == 1
    assert headline_problems(merged, date(2026, 2, 1), TH) == {P.CRIME_ASB, P.HEALTH}


def test_a_closure_read_before_its_opening_is_kept() -> None:
    f = family()
    updates.on_case_closed(f, CaseClosed.model_validate({
        "case_id": str(CASE), "family_id": str(FAMILY), "source": "identified_in_data",
        "started_at": at(OPENED).isoformat(), "due_at": at(OPENED + timedelta(days=14)).isoformat(),
        "closed_at": at(date(2026, 3, 1)).isoformat(), "outcome": "no_change", "child_ids": [str(CHILD)],
        "closed_by": "LP-1"}))
    assert f.open_case is None
    opened(f)  # the opening arrives afterwards (another topic)
    assert f.open_case is None and f.cases[CASE].closed_on == date(2026, 3, 1) and f.plan is not None
    opened(f)  # redelivered: still one plan
    assert len(f.plans) == 1
