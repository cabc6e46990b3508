"""The demo stream is valid, realistic in shape, and synthetic."""

from __future__ import annotations

import json
from collections import Counter

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.envelope import CloudEvent
from frontdoor_contracts.identifiers import is_valid_nhs_number, is_valid_upn
from frontdoor_contracts.vocabulary import ReferrerSource
from frontdoor_stack.demo import FAMILY_NAMES, DemoStream


def contacts(count: int = 400, seed: int = 1) -> list[tuple[CloudEvent[ContactSubmitted], str]]:
    stream = DemoStream(seed)
    events = []
    for _ in range(count):
        _, value, contact_id = stream.contact()
        events.append((CloudEvent[ContactSubmitted].model_validate_json(value), contact_id))
    return events


def test_contacts_validate_and_their_ids_follow_the_contract() -> None:
    for event, contact_id in contacts(100):
        assert event.type == ContactSubmitted.EVENT_TYPE
        assert contact_id == str(contact_id_for(event.source, event.id))


def test_identifiers_are_valid_and_synthetic() -> None:
    for event, _ in contacts(200):
        for child in event.data.children:
            assert child.family_name in FAMILY_NAMES
            assert child.nhs_number is None or (is_valid_nhs_number(child.nhs_number)
                                                and child.nhs_number.startswith("999"))
            assert child.upn is None or is_valid_upn(child.upn)
            assert child.school_urn is None or (len(child.school_urn) == 6 and child.school_urn.isdigit())
            assert child.postcode is not None and child.postcode.startswith("ZZ99")


def test_police_are_about_a_third_and_bring_da_incidents() -> None:
    events = contacts(600)
    sources = Counter(event.data.referrer_source for event, _ in events)
    assert 0.2 < sources[ReferrerSource.POLICE] / len(events) < 0.4
    assert len(sources) >= 7
    incidents = [event.data.da_incident for event, _ in events if event.data.da_incident]
    assert incidents and all(1 <= len(incident.children) <= 3 for incident in incidents)


def test_some_children_come_back() -> None:
    seen = Counter(
        child.nhs_number for event, _ in contacts(300) for child in event.data.children if child.nhs_number
    )
    assert sum(1 for count in seen.values() if count > 1) >= 10


def test_decisions_validate() -> None:
    stream = DemoStream(3)
    _, _, contact_id = stream.contact()
    key, value = stream.decision(contact_id)
    event = CloudEvent[DecisionSubmitted].model_validate_json(value)
    assert key == contact_id == str(event.data.contact_id)
    assert json.loads(value)["type"] == DecisionSubmitted.EVENT_TYPE
