"""Builders of valid events for the contacts service's tests (unique module name:
pytest puts this folder on sys.path through its conftest)."""

from __future__ import annotations

import random
import string
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.identifiers import nhs_check_digit


def nhs_number(seed: int) -> str:
    """A valid NHS number (mod 11) made from a seed."""
    n = seed
    while True:
        first = f"{n % 10**9:09d}"
        check = nhs_check_digit(first)
        if check is not None:
            return first + str(check)
        n += 1


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
TODAY = date(2026, 3, 2)
