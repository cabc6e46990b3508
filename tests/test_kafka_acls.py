"""The broker's ACLs against the topic declarations: every declared producer may write its topic, every
declared consumer may read it, each service may use its own consumer groups (its settings' defaults), outcomes'
faust app its own internal topics; and nothing more."""

from __future__ import annotations

from allocation.settings import Settings as AllocationSettings
from contacts.settings import Settings as ContactsSettings
from frontdoor_contracts.topics import DLQ_SUFFIX, DOMAIN_TOPICS, SERVICES, all_topics
from frontdoor_stack.acls import ADMIN, BROKER, SERVICE_GROUPS, AclBinding, acl_bindings, principal, principals
from notifications.settings import Settings as NotificationsSettings
from outcomes.settings import Settings as OutcomesSettings

BINDINGS = acl_bindings()
TOPICS = {spec.name: spec for spec in all_topics()}
OUTSIDE = ("case-systems", "front-door-systems", "partners-data", "schools-mis")


def topic_rights(binding_set: list[AclBinding]) -> set[tuple[str, str, str]]:
    return {(b.user, b.operation, b.name) for b in binding_set if b.resource_type == "TOPIC"
            and b.pattern_type == "LITERAL"}


def test_every_declared_producer_writes_and_every_declared_consumer_reads_and_no_one_else() -> None:
    declared = {(p, "WRITE", spec.name) for spec in all_topics() for p in spec.producers}
    declared |= {(c, "READ", spec.name) for spec in all_topics() for c in spec.consumers}
    assert topic_rights(BINDINGS) == declared
    assert {b.operation for b in BINDINGS if b.pattern_type == "LITERAL" and b.resource_type == "TOPIC"} == {
        "READ", "WRITE"}  # no ALL, no DELETE, no ALTER


def test_each_consumer_writes_the_dead_letter_topic_of_what_it_consumes() -> None:
    rights = topic_rights(BINDINGS)
    for spec in DOMAIN_TOPICS:
        for consumer in spec.consumers:
            assert (consumer, "WRITE", spec.name + DLQ_SUFFIX) in rights
    assert not any(op == "READ" and name.endswith(DLQ_SUFFIX) for _, op, name in rights)  # operators read them


def test_outside_systems_only_write_their_input_topics() -> None:
    for system in OUTSIDE:
        mine = [b for b in BINDINGS if b.user == system]
        assert mine and {b.operation for b in mine} == {"WRITE"} and {b.resource_type for b in mine} == {"TOPIC"}
        assert {b.name for b in mine} == {spec.name for spec in all_topics() if system in spec.producers}


def test_the_issues_two_refusals_follow_from_the_declarations() -> None:
    readers = {b.user for b in BINDINGS if b.name == "contacts.da-incident-reported.v1" and b.operation == "READ"}
    writers = {b.user for b in BINDINGS if b.name == "schools.enrolments.v1" and b.operation == "WRITE"}
    assert readers == {"notifications", "outcomes"} and writers == {"schools-mis"}


def test_each_service_uses_its_own_consumer_groups_as_its_settings_name_them() -> None:
    defaults = {"contacts": ContactsSettings().consumer_group, "allocation": AllocationSettings().consumer_group,
                "notifications": NotificationsSettings().consumer_group,
                "outcomes": OutcomesSettings().stream_id}  # outcomes consumes through faust: its app id
    assert {service: groups[0] for service, groups in SERVICE_GROUPS.items()} == defaults
    groups = {(b.user, b.name) for b in BINDINGS if b.resource_type == "GROUP"}
    assert groups == set(defaults.items())
    assert {(b.operation, b.pattern_type) for b in BINDINGS if b.resource_type == "GROUP"} == {("READ", "LITERAL")}


def test_only_outcomes_makes_topics_and_only_under_its_faust_apps_name() -> None:
    prefixed = [b for b in BINDINGS if b.pattern_type == "PREFIXED"]
    assert {b.principal for b in prefixed} == {principal("outcomes")}
    assert {b.name for b in prefixed} == {OutcomesSettings().stream_id + "-"}
    assert {b.operation for b in prefixed} == {"CREATE", "READ", "WRITE"}
    assert not any(spec.name.startswith(OutcomesSettings().stream_id + "-") for spec in all_topics())


def test_the_principals_are_the_services_and_the_outside_systems_and_the_super_users_have_no_acls() -> None:
    assert principals() == tuple(sorted((*SERVICES, *OUTSIDE)))
    assert {b.user for b in BINDINGS} == set(principals())
    assert not {ADMIN, BROKER} & {b.user for b in BINDINGS}
    assert len(BINDINGS) == len(set(BINDINGS))


def rights_on(topic: str) -> dict[str, set[str]]:
    return {operation: {b.user for b in BINDINGS if b.name == topic and b.operation == operation
                        and b.resource_type == "TOPIC"} for operation in ("READ", "WRITE")}


def test_person_keys_are_written_by_contacts_and_read_by_notifications_alone() -> None:
    """The compacted key topic: a reading service's wrapped keys reach it alone (allocation and outcomes never
    read personal fields); a key notifications cannot take goes to its dead-letter topic."""
    assert rights_on("contacts.person-keys.v1") == {"READ": {"notifications"}, "WRITE": {"contacts"}}
    assert rights_on("contacts.person-keys.v1.dlq") == {"READ": set(), "WRITE": {"notifications"}}


def test_privacy_requests_go_from_contacts_to_every_service_and_answers_to_no_service() -> None:
    """Every service (contacts too) reads the requests and writes its answer; no service reads another's
    answer: the privacy command reads them as the stack's admin (a super user, no ACL)."""
    assert rights_on("privacy.requests.v1") == {"READ": set(SERVICES), "WRITE": {"contacts"}}
    assert rights_on("privacy.replies.v1") == {"READ": set(), "WRITE": set(SERVICES)}
    assert rights_on("privacy.requests.v1.dlq") == {"READ": set(), "WRITE": set(SERVICES)}
    assert "privacy.replies.v1.dlq" not in TOPICS  # nobody consumes the answers, so no dead letters
