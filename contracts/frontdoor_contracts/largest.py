"""The largest valid payload of each event a sender outside the platform
controls: every list at its cap, every string at its longest, and every
character of free text the widest JSON has (one outside the BMP: four bytes
in UTF-8, twelve as a `\\ud842\\udfb7` escape). What the HTTP edge's body
limit and the record limit are measured against (`caps`, `limits`); pure
data, no I/O.

Names differ from person to person and identifiers are valid and distinct,
so a service records every person of a contact as someone else and derives
the most it can from it.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from .allocation import StepDownRequested
from .caps import (
    DECIDED_BY_MAX,
    MAX_ADULTS,
    MAX_CHILDREN,
    NAME_MAX,
    POLICE_REFERENCE_MAX,
    RATIONALE_MAX,
    REF_MAX,
    RELATIONSHIP_MAX,
)
from .contacts import ContactSubmitted, DecisionSubmitted
from .envelope import CloudEvent, EventData, new_event
from .identifiers import nhs_check_digit, upn_check_letter
from .partners import AttendanceRecorded, EmploymentRecorded, HealthNeedRecorded, OffendingRecorded
from .schools import PupilEnrolled
from .vocabulary import (
    Concern,
    Decision,
    EmploymentStatus,
    HealthNeed,
    LevelOfNeed,
    OffenceKind,
    ReferrerSource,
    SchoolTerm,
)

# U+20BB7, a CJK character found in Japanese family names: four bytes in UTF-8. Every person's text starts
# with its own character of the same plane, so no two names or refs are equal.
WIDE = "\U00020bb7"
PLANE_2 = 0x20000
# Longest forms: an outward code of four characters, a time with microseconds and an offset.
POSTCODE = "EC1A 1BB"
WHEN = datetime(2026, 3, 2, 9, 15, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
BORN = date(2016, 4, 1)
ENVELOPE_ID_MAX, ENVELOPE_SOURCE_MAX, ENVELOPE_SUBJECT_MAX = 200, 500, 200  # envelope.CloudEvent's caps
STAFF_REF_MAX = 64  # allocation.Identifier's pattern
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def wide(length: int, variant: int = 0) -> str:
    """`length` characters, four UTF-8 bytes each, distinct for each `variant`."""
    return chr(PLANE_2 + variant) + WIDE * (length - 1)


def nhs_number(seed: int) -> str:
    """The first valid NHS number (modulus 11) from `seed` on."""
    n = seed
    while (check := nhs_check_digit(f"{n % 10**9:09d}")) is None:
        n += 1
    return f"{n % 10**9:09d}{check}"


def upn(seed: int) -> str:
    body = f"801{seed % 10**9:09d}"
    return upn_check_letter(body) + body


def _person(index: int) -> dict[str, Any]:
    return {"ref": wide(REF_MAX, index), "given_name": wide(NAME_MAX, index), "family_name": wide(NAME_MAX, index),
            "nhs_number": nhs_number(400_000_000 + 17 * index), "postcode": POSTCODE}


def largest_contact() -> ContactSubmitted:
    children = [{**_person(i), "date_of_birth": BORN.isoformat(), "upn": upn(100 + i), "school_urn": "100023"}
                for i in range(MAX_CHILDREN)]
    adults = [{**_person(MAX_CHILDREN + i), "date_of_birth": "1988-06-21",
               "relationship": wide(RELATIONSHIP_MAX, i)} for i in range(MAX_ADULTS)]
    return ContactSubmitted.model_validate({
        "referrer_source": ReferrerSource.POLICE, "received_at": WHEN, "children": children, "adults": adults,
        "concerns": list(Concern),
        "da_incident": {"occurred_at": WHEN - timedelta(hours=8), "police_reference": wide(POLICE_REFERENCE_MAX),
                        "children": [{"child_ref": c["ref"], "present": True} for c in children]},
    })


def largest_decision(contact_id: uuid.UUID) -> DecisionSubmitted:
    return DecisionSubmitted(contact_id=contact_id, decision=Decision.ADVICE_EARLY_HELP_ASSESSMENT,
                             level_of_need=LevelOfNeed.SPECIALIST, rationale=wide(RATIONALE_MAX),
                             decided_by=wide(DECIDED_BY_MAX), decided_at=WHEN)


def largest_step_down() -> StepDownRequested:
    return StepDownRequested(family_id=uuid.uuid4(), child_ids=[uuid.uuid4() for _ in range(MAX_CHILDREN)],
                             contact_id=uuid.uuid4(), level_of_need=LevelOfNeed.TARGETED, concerns=list(Concern),
                             stepped_down_at=WHEN, decided_by="s" * STAFF_REF_MAX)


def largest_enrolment() -> PupilEnrolled:
    return PupilEnrolled(upn=upn(7), school_urn="100023", starts_on=date(2025, 9, 3), ends_on=date(2026, 7, 22))


def _partner_person() -> dict[str, Any]:
    return {"nhs_number": nhs_number(401_023_213), "upn": upn(9), "given_name": wide(NAME_MAX, 1),
            "family_name": wide(NAME_MAX, 2), "date_of_birth": "1988-06-21", "postcode": POSTCODE,
            "uprn": "1" * 12}


def largest_partner_records() -> list[EventData]:
    """One record of each partner dataset, each at its longest."""
    common = {"record_ref": wide(REF_MAX), "person": _partner_person()}
    return [
        AttendanceRecorded.model_validate({**common, "measure": {
            "academic_year": "2025/26", "term": SchoolTerm.AUTUMN, "term_starts_on": "2025-09-03",
            "sessions_possible": 400, "unauthorised_absences": 400, "fixed_term_exclusions": 100,
            "permanently_excluded": True}}),
        OffendingRecorded.model_validate({**common, "measure": {
            "occurred_on": "2026-01-10", "kind": OffenceKind.ANTI_SOCIAL_BEHAVIOUR, "youth": False}}),
        EmploymentRecorded.model_validate({**common, "measure": {
            "status": EmploymentStatus.ECONOMICALLY_INACTIVE, "out_of_work_benefit": True,
            "starts_on": "2025-03-01", "ends_on": "2026-03-01"}}),
        HealthNeedRecorded.model_validate({**common, "measure": {
            "category": HealthNeed.SUBSTANCE_MISUSE, "identified_on": "2026-02-11"}}),
    ]


def largest_inputs() -> list[EventData]:
    """The largest payload of every event type an outside system sends."""
    return [largest_contact(), largest_decision(uuid.uuid4()), largest_step_down(), largest_enrolment(),
            *largest_partner_records()]


def largest_event(data: EventData, variant: int = 0) -> CloudEvent[Any]:
    """`data` in the largest envelope a sender may wrap it in (every attribute at its cap); the event id is
    distinct for each `variant`."""
    return new_event(data, source=wide(ENVELOPE_SOURCE_MAX), subject=wide(ENVELOPE_SUBJECT_MAX),
                     time=datetime(2026, 3, 2, 9, 15, 0, 123456, tzinfo=UTC),
                     event_id=wide(ENVELOPE_ID_MAX, variant), traceparent=TRACEPARENT)
