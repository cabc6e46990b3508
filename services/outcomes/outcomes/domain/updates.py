"""What each input event adds to a family's picture (`family.Family`): its
children and adults, the partners' facts about them, the contacts needing
help and the referrals to social care, its Early Help cases and, when a case
opens, its outcome plan. One function per event (`on_<event>`), in place;
the days are the events' own, in England."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from frontdoor_contracts.allocation import CaseClosed, CaseOpened, OfferAnswered, SteppedUp
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    EmploymentMeasure,
    HealthMeasure,
    OffendingMeasure,
    PartnerFactMatched,
)
from frontdoor_contracts.vocabulary import REFERRAL_DECISIONS, Decision, OfferAnswer

from .days import day_of
from .family import Attendance, Case, Employment, Family, Health, Offence, Plan

NEEDS_HELP = REFERRAL_DECISIONS | {Decision.EARLY_HELP, Decision.ADVICE_EARLY_HELP_ASSESSMENT}


def on_recorded(family: Family, data: ContactRecorded) -> None:
    family.children |= {child.child_id for child in data.children}
    if data.da_incident:
        family.da_incidents[str(data.contact_id)] = day_of(data.received_at)


def on_decided(family: Family, data: ContactDecided) -> None:
    family.children |= {child.child_id for child in data.children}
    if data.decision in NEEDS_HELP:
        family.needs_help[str(data.contact_id)] = day_of(data.decided_at)
    if data.decision in REFERRAL_DECISIONS:
        family.social_care_referrals[str(data.contact_id)] = day_of(data.decided_at)


def on_fact(family: Family, data: PartnerFactMatched) -> None:
    (family.children if data.is_child else family.adults).add(data.person_id)
    measure = data.measure
    if isinstance(measure, AttendanceMeasure):
        family.attendance[data.fact_id] = Attendance(person_id=data.person_id, measure=measure)
    elif isinstance(measure, OffendingMeasure):
        family.offences[data.fact_id] = Offence(person_id=data.person_id, measure=measure)
    elif isinstance(measure, EmploymentMeasure):
        family.employment[data.fact_id] = Employment(person_id=data.person_id, measure=measure)
    elif isinstance(measure, HealthMeasure):
        family.health[data.fact_id] = Health(person_id=data.person_id, measure=measure)


def on_case_opened(family: Family, data: CaseOpened) -> None:
    """The case and its plan. Its end may have been read first (another topic): it is kept."""
    opened = day_of(data.opened_at)
    family.children |= set(data.child_ids)
    known = family.cases.get(data.case_id)
    family.cases[data.case_id] = (known.model_copy(update={"opened_on": opened}) if known is not None
                                  else Case(case_id=data.case_id, opened_on=opened))
    if not any(plan.case_id == data.case_id for plan in family.plans):
        family.plans.append(Plan(case_id=data.case_id, starts_on=opened,
                                 declared=sorted(set(data.headline_problems))))
        family.plans.sort(key=lambda plan: plan.starts_on)


def _ended(family: Family, case_id: uuid.UUID, started_at: datetime, on: date, **changes: object) -> None:
    """The case is over (closed, stepped up, declined). Read before its opening (another topic), it is known
    from its start until the opening arrives."""
    case = family.cases.get(case_id) or Case(case_id=case_id, opened_on=day_of(started_at))
    if case.closed_on is None:
        family.cases[case_id] = case.model_copy(update={"closed_on": on, **changes})


def on_case_closed(family: Family, data: CaseClosed) -> None:
    _ended(family, data.case_id, data.started_at, day_of(data.closed_at), outcome=data.outcome)


def on_stepped_up(family: Family, data: SteppedUp) -> None:
    _ended(family, data.case_id, data.started_at, day_of(data.stepped_up_at), stepped_up=True)


def on_answered(family: Family, data: OfferAnswered) -> None:
    if data.answer is OfferAnswer.DECLINED:  # no Early Help work: the case is over
        _ended(family, data.case_id, data.started_at, day_of(data.answered_at))
