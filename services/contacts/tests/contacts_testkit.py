"""Builders of valid events for the contacts service's tests (unique module name:
pytest puts this folder on sys.path through its conftest)."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from contacts.person_keys import Sealing
from contacts.settings import Settings
from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.identifiers import nhs_check_digit, upn_check_letter
from frontdoor_contracts.partners import AttendanceRecorded, EmploymentRecorded, HealthNeedRecorded, OffendingRecorded


def nhs_number(seed: int) -> str:
    """A valid NHS number (mod 11) made from a seed."""
    n = seed
    while True:
        first = f"{n % 10**9:09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)
        n += 1


def upn(seed: int) -> str:
    """A valid Unique Pupil Number (check letter) made from a seed."""
    body = f"801{seed % 10**9:09d}"
    return upn_check_letter(body) + body


def child(ref: str = "c1", **overrides: Any) -> dict[str, Any]:
    """A child whose default name is unique, so that contacts built in
    different tests never match one another by name + date of birth + postcode."""
    unique = "".join(random.choices(string.ascii_lowercase, k=8))
    return {"ref": ref, "given_name": f"Testchild{unique}", "family_name": "Example", "date_of_birth": "2016-04-01",
            "postcode": "RG1 1AA", **overrides}


def contact_data(**overrides: Any) -> dict[str, Any]:
    return {"referrer_source": "school", "received_at": "2026-03-02T09:15:00+00:00",
            "children": [child()], "concerns": ["neglect"], **overrides}


ContactFactory = Callable[..., CloudEvent[ContactSubmitted]]


def make_contact(event_id: str | None = None, **overrides: Any) -> CloudEvent[ContactSubmitted]:
    data = ContactSubmitted.model_validate(contact_data(**overrides))
    return new_event(data, source="urn:test:front-door", event_id=event_id or str(uuid.uuid4()))


def decision_event(contact_id: uuid.UUID, decision: str, decided_at: str, **overrides: Any
                   ) -> CloudEvent[DecisionSubmitted]:
    data = DecisionSubmitted.model_validate({
        "contact_id": contact_id, "decision": decision, "level_of_need": 3, "rationale": "test rationale",
        "decided_by": "worker-1", "decided_at": decided_at, **overrides})
    return new_event(data, source="urn:test:case-system")


NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
SEALING = Sealing.of(Settings())  # the development wrapping keys
TODAY = date(2026, 3, 2)


PARTNER_SOURCE = "urn:test:data-team"
PARTNER_EVENTS: dict[str, type[AttendanceRecorded | OffendingRecorded | EmploymentRecorded | HealthNeedRecorded]] = {
    "partners.attendance.v1": AttendanceRecorded, "partners.offending.v1": OffendingRecorded,
    "partners.employment.v1": EmploymentRecorded, "partners.health.v1": HealthNeedRecorded,
}
MEASURES: dict[str, dict[str, Any]] = {
    "partners.attendance.v1": {"dataset": "attendance", "academic_year": "2025/26", "term": "autumn",
                               "term_starts_on": "2025-09-03", "sessions_possible": 140,
                               "unauthorised_absences": 31, "fixed_term_exclusions": 1},
    "partners.offending.v1": {"dataset": "offending", "occurred_on": "2026-01-10", "kind": "anti_social_behaviour",
                              "youth": False},
    "partners.employment.v1": {"dataset": "employment", "status": "unemployed", "out_of_work_benefit": True,
                               "starts_on": "2025-03-01"},
    "partners.health.v1": {"dataset": "health", "category": "mental_health", "identified_on": "2026-02-11"},
}


def partner_person(**overrides: Any) -> dict[str, Any]:
    """A person whose default name is unique (see `child`)."""
    unique = "".join(random.choices(string.ascii_lowercase, k=8))
    return {"given_name": f"Testpartner{unique}", "family_name": "Example", "date_of_birth": "1988-05-14",
            "postcode": "RG1 1AA", **overrides}


def partner_record(topic: str = "partners.employment.v1", *, person: dict[str, Any] | None = None,
                   record_ref: str | None = None, event_id: str | None = None, source: str = PARTNER_SOURCE,
                   **measure: Any) -> CloudEvent[Any]:
    data = PARTNER_EVENTS[topic].model_validate({
        "record_ref": record_ref or f"REF-{uuid.uuid4().hex[:12]}", "person": person or partner_person(),
        "measure": {**MEASURES[topic], **measure}})
    return new_event(data, source=source, event_id=event_id or str(uuid.uuid4()))
