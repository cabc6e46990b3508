"""The topic declarations: names, dead-letter topics, who produces and consumes."""

from __future__ import annotations

import re

from frontdoor_contracts.retention import default
from frontdoor_contracts.topics import (
    DLQ_SUFFIX,
    DOMAIN_TOPICS,
    SERVICES,
    all_topics,
    dead_letter_topic,
    topics_consumed_by,
)

TOPIC_NAME = re.compile(r"^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$")
ISSUE_MANDATED = {
    "frontdoor.contacts.v1",
    "frontdoor.decisions.v1",
    "contacts.recorded.v1",
    "contacts.decided.v1",
    "contacts.da-incident-reported.v1",
    "outcomes.family-identified.v1",
}
ALLOCATION_TOPICS = {
    "allocation.case-opened.v1",
    "allocation.case-allocated.v1",
    "allocation.offer-made.v1",
    "allocation.offer-answered.v1",
    "allocation.stepped-up.v1",
    "allocation.offer-due-soon.v1",
    "allocation.offer-overdue.v1",
}


def test_domain_topic_names_follow_domain_event_version() -> None:
    for spec in DOMAIN_TOPICS:
        assert TOPIC_NAME.match(spec.name), spec.name


def test_dead_letter_names_are_a_domain_topic_plus_dlq() -> None:
    domain = {spec.name for spec in DOMAIN_TOPICS}
    for spec in all_topics():
        if spec.name not in domain:
            assert spec.name.endswith(DLQ_SUFFIX) and spec.name.removesuffix(DLQ_SUFFIX) in domain
            assert spec.event is None and spec.consumers == ()


def test_every_consumed_topic_has_a_dead_letter_topic_its_consumers_may_write() -> None:
    by_name = {spec.name: spec for spec in all_topics()}
    for spec in DOMAIN_TOPICS:
        if spec.consumers:
            dlq = by_name[dead_letter_topic(spec.name)]
            assert set(dlq.producers) == set(spec.consumers)
        else:
            assert dead_letter_topic(spec.name) not in by_name


def test_names_are_unique() -> None:
    names = [spec.name for spec in all_topics()]
    assert len(names) == len(set(names))


def test_the_issue_mandated_topics_exist_exactly() -> None:
    # exact spellings; later topics (e.g. allocation.*) may join them
    assert {spec.name for spec in DOMAIN_TOPICS} >= ISSUE_MANDATED | ALLOCATION_TOPICS


def test_every_domain_topic_carries_one_event_type_with_a_key_and_producer() -> None:
    event_types = [spec.event.EVENT_TYPE for spec in DOMAIN_TOPICS if spec.event is not None]
    assert len(event_types) == len(DOMAIN_TOPICS) == len(set(event_types))
    for spec in all_topics():
        assert spec.key and spec.producers and spec.description
        assert spec.partitions >= 1 and default().retention_ms(spec) > 0


def test_event_type_names_the_same_major_version_as_its_topic() -> None:
    for spec in DOMAIN_TOPICS:
        assert spec.event is not None
        assert spec.event.EVENT_TYPE.rsplit(".", 1)[1] == spec.name.rsplit(".", 1)[1]


def test_consumers_are_known_services() -> None:
    for spec in DOMAIN_TOPICS:
        assert set(spec.consumers) <= set(SERVICES)
    assert {spec.name for spec in topics_consumed_by("contacts")} == {
        "frontdoor.contacts.v1", "frontdoor.decisions.v1", "partners.attendance.v1", "partners.offending.v1",
        "partners.employment.v1", "partners.health.v1", "privacy.requests.v1"}
    assert {spec.name for spec in topics_consumed_by("allocation")} == {
        "contacts.decided.v1", "contacts.families-merged.v1", "frontdoor.step-downs.v1",
        "outcomes.family-identified.v1", "privacy.requests.v1"}


def test_allocation_produces_its_case_topics_keyed_by_case() -> None:
    by_name = {spec.name: spec for spec in DOMAIN_TOPICS}
    for name in ALLOCATION_TOPICS:
        assert by_name[name].producers == ("allocation",) and by_name[name].key == "case_id"
        assert "outcomes" in by_name[name].consumers
    assert "notifications" in by_name["allocation.case-allocated.v1"].consumers
    assert "notifications" in by_name["allocation.offer-overdue.v1"].consumers
    for name, producer in (("outcomes.family-identified.v1", "outcomes"), ("frontdoor.step-downs.v1", "case-systems")):
        assert by_name[name].producers == (producer,) and by_name[name].key == "family_id"


def test_allocation_consumers_get_dead_letter_topics() -> None:
    names = {spec.name for spec in all_topics()}
    for spec in topics_consumed_by("allocation"):
        assert dead_letter_topic(spec.name) in names


def test_topic_configs_carry_retention_and_cleanup() -> None:
    for spec in all_topics():
        configs = default().topic_configs(spec, min_insync_replicas=2)
        assert configs["retention.ms"] == str(default().retention_ms(spec))
        assert configs["cleanup.policy"] == spec.cleanup_policy
        assert configs["min.insync.replicas"] == "2"
