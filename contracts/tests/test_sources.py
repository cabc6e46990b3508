"""A record's `source` against its topic's declared producers: for every topic, each service that does not
produce it is refused, each that does passes, and an outside system's own URN is left to the broker's ACLs."""

from __future__ import annotations

import pytest

from frontdoor_contracts.errors import InvalidEvent
from frontdoor_contracts.sources import SERVICE_SOURCES, check_source, claimed_service
from frontdoor_contracts.topics import SERVICES, TopicSpec, all_topics

TOPICS = all_topics()


def test_a_source_claims_the_service_whose_namespace_it_is_in_on_a_segment_boundary() -> None:
    assert claimed_service("urn:frontdoor:contacts") == "contacts"
    assert claimed_service("urn:frontdoor:contacts:api:police-1") == "contacts"
    assert claimed_service("urn:frontdoor:outcomes") == "outcomes"
    assert claimed_service("urn:frontdoor:contacts-crash-test") is None  # another name, not contacts'
    assert claimed_service("urn:frontdoor:demo:case-system") is None
    assert claimed_service("urn:frontdoor") is None
    assert claimed_service("urn:la:census") is None
    assert claimed_service("URN:FRONTDOOR:CONTACTS") is None  # as written, byte for byte


@pytest.mark.parametrize("spec", TOPICS, ids=[spec.name for spec in TOPICS])
def test_each_topic_refuses_every_service_it_does_not_declare_and_takes_those_it_does(spec: TopicSpec) -> None:
    for service in SERVICES:
        for source in (SERVICE_SOURCES[service], f"{SERVICE_SOURCES[service]}:api:someone"):
            if service in spec.producers:
                check_source(spec.name, source)
            else:
                with pytest.raises(InvalidEvent) as refused:
                    check_source(spec.name, source)
                assert refused.value.reason == "source_not_allowed" and refused.value.field == "source"
                assert source not in str(refused.value)  # the rule, never the value
    check_source(spec.name, "urn:la:an-outside-system")  # not a service's: the ACLs' business


def test_the_contacts_api_source_is_refused_where_contacts_does_not_produce() -> None:
    """The claim the issue names: `urn:frontdoor:contacts:api:<anyone>` on a partner's or a school's topic."""
    for topic in ("partners.attendance.v1", "schools.enrolments.v1", "frontdoor.step-downs.v1",
                  "allocation.case-allocated.v1"):
        with pytest.raises(InvalidEvent):
            check_source(topic, "urn:frontdoor:contacts:api:anyone")
    check_source("frontdoor.contacts.v1", "urn:frontdoor:contacts:api:anyone")  # contacts' own API writes it


def test_a_topic_nobody_declared_is_not_judged() -> None:
    check_source("kit.notes.v1", "urn:frontdoor:allocation")
