"""Families known only from data: partner records (as a council's data team
and partners send them, on partners.*.v1) about a household never seen at
the front door, showing two or three headline problems: an adult on
out-of-work benefits, a child's health need, sometimes an adult's
anti-social behaviour. The outcomes service identifies such a family and the
allocation service opens its case. For some, an adult moves into work
during the case: the benefit record is replaced with its end and an
employment record follows (significant and sustained progress, 182 days on).

Every record carries the household's synthetic UPRN, so the contacts service
makes one family of them."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from frontdoor_contracts.contacts import Adult
from frontdoor_contracts.contacts import Child as ChildData
from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.partners import (
    EmploymentMeasure,
    EmploymentRecorded,
    HealthMeasure,
    HealthNeedRecorded,
    OffendingMeasure,
    OffendingRecorded,
    PartnerPerson,
)
from frontdoor_contracts.vocabulary import EmploymentStatus, HealthNeed, OffenceKind, PartnerDataset

from ..demo_partners import REF_PREFIX, SOURCES, TOPICS
from .events import PartnerRecordRef, Publish
from .wire import Household, event_id

Record = EmploymentRecorded | HealthNeedRecorded | OffendingRecorded


@dataclass(frozen=True)
class DataFamily:
    household: Household
    uprn: str
    benefit_ref: str
    benefit_from: date
    health_on: date
    asb_on: date | None
    records: tuple[PartnerRecordRef, ...]


def _person(who: ChildData | Adult, uprn: str) -> PartnerPerson:
    assert who.date_of_birth is not None
    return PartnerPerson(nhs_number=who.nhs_number, upn=who.upn if isinstance(who, ChildData) else None,
                         given_name=who.given_name, family_name=who.family_name, date_of_birth=who.date_of_birth,
                         postcode=who.postcode, uprn=uprn)


def _publish(rng: random.Random, dataset: PartnerDataset, data: Record, at: datetime) -> Publish:
    event = new_event(data, source=SOURCES[dataset], subject=dataset.value, time=at, event_id=event_id(rng))
    return Publish(at, TOPICS[dataset], data.record_ref, encode_event(event))


def _ref(rng: random.Random, dataset: PartnerDataset) -> str:
    return f"{REF_PREFIX[dataset]}-{rng.getrandbits(48):012X}"


def data_family(rng: random.Random, household: Household, at: datetime, crime: bool
                ) -> tuple[DataFamily, list[Publish]]:
    """The family's records, all published at `at`."""
    today = at.date()
    uprn = f"98{rng.randrange(10**10):010d}"
    adult, child = household.people.adults[0], household.people.children[0]
    benefit_from = today - timedelta(days=rng.randrange(200, 1000))
    benefit_ref = _ref(rng, PartnerDataset.EMPLOYMENT)
    status = EmploymentStatus.UNEMPLOYED if rng.random() < 0.7 else EmploymentStatus.ECONOMICALLY_INACTIVE
    out = [_publish(rng, PartnerDataset.EMPLOYMENT, EmploymentRecorded(
        record_ref=benefit_ref, person=_person(adult, uprn),
        measure=EmploymentMeasure(status=status, out_of_work_benefit=True, starts_on=benefit_from)), at)]
    health_on = today - timedelta(days=rng.randrange(150, 300))
    health_ref = _ref(rng, PartnerDataset.HEALTH)
    out.append(_publish(rng, PartnerDataset.HEALTH, HealthNeedRecorded(
        record_ref=health_ref, person=_person(child, uprn),
        measure=HealthMeasure(category=rng.choice((HealthNeed.MENTAL_HEALTH, HealthNeed.PHYSICAL_HEALTH,
                                                   HealthNeed.DISABILITY)), identified_on=health_on)), at))
    refs = [PartnerRecordRef(SOURCES[PartnerDataset.EMPLOYMENT], PartnerDataset.EMPLOYMENT.value, benefit_ref),
            PartnerRecordRef(SOURCES[PartnerDataset.HEALTH], PartnerDataset.HEALTH.value, health_ref)]
    asb_on = None
    if crime:
        asb_on = today - timedelta(days=rng.randrange(150, 300))
        asb_ref = _ref(rng, PartnerDataset.OFFENDING)
        out.append(_publish(rng, PartnerDataset.OFFENDING, OffendingRecorded(
            record_ref=asb_ref, person=_person(adult, uprn),
            measure=OffendingMeasure(occurred_on=asb_on, kind=OffenceKind.ANTI_SOCIAL_BEHAVIOUR, youth=False)), at))
        refs.append(PartnerRecordRef(SOURCES[PartnerDataset.OFFENDING], PartnerDataset.OFFENDING.value, asb_ref))
    return DataFamily(household, uprn, benefit_ref, benefit_from, health_on, asb_on, tuple(refs)), out


def into_work(rng: random.Random, family: DataFamily, starts_on: date, at: datetime) -> list[Publish]:
    """The adult's benefit ends the day before `starts_on` and employment starts then (published at `at`)."""
    adult = family.household.people.adults[0]
    person = _person(adult, family.uprn)
    ended = EmploymentRecorded(record_ref=family.benefit_ref, person=person, measure=EmploymentMeasure(
        status=EmploymentStatus.UNEMPLOYED, out_of_work_benefit=True, starts_on=family.benefit_from,
        ends_on=starts_on - timedelta(days=1)))
    employed = EmploymentRecorded(record_ref=_ref(rng, PartnerDataset.EMPLOYMENT), person=person,
                                  measure=EmploymentMeasure(status=EmploymentStatus.EMPLOYED,
                                                            out_of_work_benefit=False, starts_on=starts_on))
    return [_publish(rng, PartnerDataset.EMPLOYMENT, ended, at), _publish(rng, PartnerDataset.EMPLOYMENT, employed, at)]
