"""The review timer's round, a slice at a time (so the event loop serves
records between slices), says what one review of every family says: each
family reviewed once, the same outputs, nothing said twice."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from frontdoor_contracts.partners import PartnerFactMatched
from outcomes.domain import updates
from outcomes.domain.family import Family
from outcomes.domain.thresholds import Thresholds
from outcomes.stream.processor import Processor

TH = Thresholds()
AT = datetime(2026, 6, 1, 12, tzinfo=UTC)


def family(n: int, problems: int) -> Family:
    """A family with `problems` headline problems in partner data (2: it is identified when reviewed)."""
    family_id = uuid.uuid5(uuid.NAMESPACE_URL, f"family/{n}")
    child, adult = uuid.uuid5(family_id, "child"), uuid.uuid5(family_id, "adult")
    found = Family(family_id=family_id, children={child}, last_event_at=datetime(2026, 4, 1, tzinfo=UTC))
    measures = [({"dataset": "offending", "occurred_on": "2026-03-01", "kind": "anti_social_behaviour",
                  "youth": False}, child),
                ({"dataset": "health", "category": "mental_health", "identified_on": "2026-03-10"}, adult)]
    for measure, person in measures[:problems]:
        updates.on_fact(found, PartnerFactMatched.model_validate({
            "fact_id": str(uuid.uuid5(family_id, str(measure))), "person_id": str(person),
            "family_id": str(family_id), "is_child": person == child, "person_created": False,
            "matched_at": "2026-04-01T00:00:00Z", "measure": measure}))
    return found


def processor() -> Processor:
    families = {str(f.family_id): f for f in (family(n, 2 if n % 3 else 1) for n in range(20))}
    return Processor(families, {}, TH, "urn:test:outcomes", objects=True)


def outputs(steps: list[list[tuple[str, object]]]) -> list[str]:
    return sorted(event.id for step in steps for _, event in step)  # type: ignore[attr-defined]


def test_a_round_in_slices_says_what_one_review_of_every_family_says() -> None:
    whole = processor()
    expected = whole.review_all(AT).outputs
    assert len(expected) == 13  # the 13 families with two problems are identified; the 7 with one are not

    sliced = processor()
    keys = sliced.review_keys()
    assert sorted(keys) == sorted(whole.families)
    said = []
    for start in range(0, len(keys), 3):
        step = sliced.review(keys[start:start + 3], AT)
        sliced.commit()
        said.append(step.outputs)
    assert outputs(said) == outputs([expected])
    assert sliced.review(sliced.review_keys(), AT).outputs == []  # said once: the next round says nothing
