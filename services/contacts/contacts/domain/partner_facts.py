"""What a partner record (partners.*.v1) says, as far as the rules care:
which fact it is (a replacement with the same record_ref is the same fact),
which delivery it is (a redelivery is not a new one), which day its measure
is about, and whether the person was a child on that day."""

from __future__ import annotations

import uuid
from datetime import date

from frontdoor_contracts.partners import (
    FACT_ID_NAMESPACE,
    AttendanceMeasure,
    EmploymentMeasure,
    HealthMeasure,
    OffendingMeasure,
    PartnerPerson,
)
from frontdoor_contracts.vocabulary import PartnerDataset

from .people import PersonFacts

DELIVERY_NAMESPACE = uuid.UUID("c4e2a8b1-9d35-4f7a-8b06-1e3f5a7c9d24")
ADULT_AT = 18

Measure = AttendanceMeasure | OffendingMeasure | EmploymentMeasure | HealthMeasure


def fact_id_for(source: str, dataset: PartnerDataset, record_ref: str) -> uuid.UUID:
    """The fact's id: the partner (CloudEvents source), the dataset and the
    partner's own record_ref, so that a replacement keeps it. The dataset is
    part of it because one source (a council's data team) publishes several
    datasets, whose refs need not differ from one another."""
    return uuid.uuid5(FACT_ID_NAMESPACE, f"{source}\n{dataset.value}\n{record_ref}")


def delivery_key(source: str, event_id: str) -> uuid.UUID:
    """One delivery of a record (CloudEvents source + id, as contacts are
    deduplicated): the same key again is a redelivery, which changes nothing."""
    return uuid.uuid5(DELIVERY_NAMESPACE, f"{source}\n{event_id}")


def measure_day(measure: Measure) -> tuple[str, date]:
    """The day the measure is about, and the field that says so."""
    if isinstance(measure, AttendanceMeasure):
        return "term_starts_on", measure.term_starts_on
    if isinstance(measure, OffendingMeasure):
        return "occurred_on", measure.occurred_on
    if isinstance(measure, EmploymentMeasure):
        return "starts_on", measure.starts_on
    return "identified_on", measure.identified_on


def birthday(born: date, age: int) -> date:
    """The day someone born on `born` reaches `age` (born on 29 February:
    1 March in a year that has none)."""
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return date(born.year + age, 3, 1)


def under_18_on(born: date, day: date) -> bool:
    return day < birthday(born, ADULT_AT)


def person_facts(person: PartnerPerson) -> PersonFacts:
    return PersonFacts(person.given_name, person.family_name, person.date_of_birth, person.nhs_number, person.upn,
                       person.postcode)
