"""Partner data in (partners.*.v1) -> a person and family -> the fact out
(contacts.partner-fact-matched.v1, without identifiers or names), in one
database transaction through the outbox.

The person and the household are `matching.match_partner_person`'s: the
person is matched like a contact's children and adults, by the same code
(`matching`, `domain.people`), as a child when under 18 on the day the
measure is about, else as an adult. A record is refused (dead-lettered,
naming the field, never a value) where it cannot be placed safely
(`domain.people.refusal`: identifiers that belong to different people,
nothing to match on, a tie on name + date of birth + postcode), or when its
measure is dated before the person was born. Otherwise, nobody matching,
the person is created from the record.

The household (the family): a partner record never moves anyone out of a
family, and never merges families (only a contact links families, with
contacts.families-merged.v1). The UPRN is the household key, applied with
the contacts' own family rule (`plan_family`) as if the person were a
contact's only child and the other people known at the UPRN its adults:

- a person who has a family keeps it, whatever the UPRN says;
- otherwise (a new person) the person joins the family of the people
  already at the record's UPRN (the longest known first), so two people
  with the same UPRN and no other family link are one family;
- otherwise the person is a family of their own (one that may never have
  had a contact: a family identified in data).

The person's UPRN is then the record's (the latest one given, like the
postcode), so a household follows who lives there now, and a family merged
by a contact later is followed through its people.

A replacement record (same source, dataset and record_ref; another event
id) is matched again and publishes the same fact_id; a redelivery (same
CloudEvents source + id) changes nothing and publishes nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from sqlmodel import Session

from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.partners import (
    AttendanceRecorded,
    EmploymentRecorded,
    HealthNeedRecorded,
    OffendingRecorded,
    PartnerFactMatched,
)
from frontdoor_contracts.topics import (
    CONTACTS_PARTNER_FACT_MATCHED,
    PARTNERS_ATTENDANCE,
    PARTNERS_EMPLOYMENT,
    PARTNERS_HEALTH,
    PARTNERS_OFFENDING,
)
from frontdoor_contracts.vocabulary import PartnerDataset
from frontdoor_platform import outbox

from . import matching
from .domain.partner_facts import delivery_key, fact_id_for, measure_day, person_facts, under_18_on
from .domain.people import Refusal
from .lookups import lookups_for, partner_locks
from .models import OutboxEvent, PartnerRecordApplied

PartnerEvent = TypeVar("PartnerEvent", AttendanceRecorded, OffendingRecorded, EmploymentRecorded, HealthNeedRecorded)

TOPICS: dict[str, type[AttendanceRecorded | OffendingRecorded | EmploymentRecorded | HealthNeedRecorded]] = {
    PARTNERS_ATTENDANCE.name: AttendanceRecorded,
    PARTNERS_OFFENDING.name: OffendingRecorded,
    PARTNERS_EMPLOYMENT.name: EmploymentRecorded,
    PARTNERS_HEALTH.name: HealthNeedRecorded,
}
DATASETS: dict[str, PartnerDataset] = {
    PARTNERS_ATTENDANCE.name: PartnerDataset.ATTENDANCE,
    PARTNERS_OFFENDING.name: PartnerDataset.OFFENDING,
    PARTNERS_EMPLOYMENT.name: PartnerDataset.EMPLOYMENT,
    PARTNERS_HEALTH.name: PartnerDataset.HEALTH,
}


@dataclass(frozen=True)
class FactOutcome:
    dataset: PartnerDataset
    fact_id: uuid.UUID
    duplicate: bool = False
    person_created: bool = False  # by this delivery


class PersonRefused(InvalidEvent):
    """A well-formed partner record whose person cannot be placed safely."""


def record_partner_fact(session: Session, event: CloudEvent[PartnerEvent], source_uri: str,
                        now: datetime) -> FactOutcome:
    data = event.data
    dataset = data.measure.dataset
    key = delivery_key(event.source, event.id)
    fact_id = fact_id_for(event.source, dataset, data.record_ref)
    lookups = lookups_for(session)
    lookups.hold(partner_locks(key, data.person))  # a batch's prefetch took them all at once
    if lookups.partner_record_known(key):
        return FactOutcome(dataset, fact_id, duplicate=True)
    day_field, day = measure_day(data.measure)
    if day < data.person.date_of_birth:
        raise InvalidEvent("invalid_data", [FieldError(f"data.measure.{day_field}", "before_birth",
                                                       "is before the person's date of birth")])
    is_child = under_18_on(data.person.date_of_birth, day)
    kind = "child" if is_child else "adult"
    matched = matching.match_partner_person(lookups, session, person_facts(data.person), kind, data.person.uprn,
                                            fact_id, now)
    if isinstance(matched, Refusal):
        field = "data.person" + (f".{matched.field}" if matched.field else "")
        raise PersonRefused(matched.reason, [FieldError(field, matched.reason, matched.message)])
    person, family_id = matched.person, matched.family_id
    session.add(PartnerRecordApplied(id=key, event_id=event.id, event_source=event.source, dataset=dataset.value,
                                     fact_id=fact_id, person_id=person.id, family_id=family_id, recorded_at=now))
    lookups.note_partner_record(key)
    fact = PartnerFactMatched(
        fact_id=fact_id, person_id=person.id, family_id=family_id, is_child=is_child,
        # A replacement that matches the person its first version created still says so.
        person_created=person.created_from_fact_id == fact_id, matched_at=now, measure=data.measure,
    )
    out = new_event(fact, source=source_uri, subject=str(fact_id), time=now, event_id=str(key),
                    traceparent=event.traceparent)
    outbox.add_event(session, OutboxEvent, CONTACTS_PARTNER_FACT_MATCHED.name, str(family_id), out, now)
    return FactOutcome(dataset, fact_id, person_created=matched.created)
