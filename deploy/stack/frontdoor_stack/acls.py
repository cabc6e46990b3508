"""Who may do what on the broker, generated from the topic declarations
(`frontdoor_contracts.topics`), never listed by hand.

Every producer and consumer a `TopicSpec` names is a principal (`User:<name>`):
the four services and the outside systems (front-door systems, case
systems, schools' MIS, partners' data). A producer may WRITE its topics (a
consumer of a topic produces its dead-letter topic: the declarations say
so); a consumer may READ its topics and its own consumer groups; outcomes'
faust app may also create, read and write its own internal topics (its
tables' changelogs, its leader topic: `<stream_id>-...`). WRITE and READ
imply DESCRIBE. Nothing else is allowed: the broker runs with
`allow.everyone.if.no.acl.found=false`, and only the stack's admin and the
broker itself are super users (`kafka_access.py`).

The consumer groups are the services' settings' defaults (`consumer_group`;
outcomes' faust group is its `stream_id`), kept equal to them by
tests/test_kafka_acls.py."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from frontdoor_contracts.topics import ALLOCATION, CONTACTS, NOTIFICATIONS, OUTCOMES, TopicSpec, all_topics

ADMIN = "frontdoor-admin"  # the stack tool's own principal: creates topics, applies these ACLs (a super user)
BROKER = "frontdoor-broker"  # the node itself: inter-broker SASL and its controller certificate (a super user)
SUPER_USERS = (ADMIN, BROKER)
# Each service's consumer groups (its settings' defaults).
SERVICE_GROUPS: dict[str, tuple[str, ...]] = {
    CONTACTS: ("contacts",),
    ALLOCATION: ("allocation",),
    NOTIFICATIONS: ("notifications",),
    OUTCOMES: ("frontdoor-outcomes",),  # the faust app's id
}
# Topics a service's framework makes for itself, by name prefix: faust's changelogs and leader topic.
INTERNAL_TOPIC_PREFIXES: dict[str, tuple[str, ...]] = {OUTCOMES: ("frontdoor-outcomes-",)}
INTERNAL_OPERATIONS = ("CREATE", "READ", "WRITE")


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW entry, from any host (the names Kafka's admin API takes)."""

    principal: str  # User:<name>
    resource_type: str  # TOPIC | GROUP
    pattern_type: str  # LITERAL | PREFIXED
    name: str
    operation: str  # READ | WRITE | CREATE

    @property
    def user(self) -> str:
        return self.principal.removeprefix("User:")


def principal(name: str) -> str:
    return f"User:{name}"


def principals(topics: Iterable[TopicSpec] | None = None) -> tuple[str, ...]:
    """Every producer and consumer the declarations name, sorted (user names, without `User:`)."""
    specs = all_topics() if topics is None else tuple(topics)
    return tuple(sorted({name for spec in specs for name in (*spec.producers, *spec.consumers)}))


def acl_bindings(topics: Iterable[TopicSpec] | None = None,
                 groups: Mapping[str, tuple[str, ...]] = SERVICE_GROUPS,
                 internal: Mapping[str, tuple[str, ...]] = INTERNAL_TOPIC_PREFIXES) -> list[AclBinding]:
    """Every ACL the declarations call for, sorted, each once."""
    specs = all_topics() if topics is None else tuple(topics)
    found: set[AclBinding] = set()
    for spec in specs:
        found |= {AclBinding(principal(p), "TOPIC", "LITERAL", spec.name, "WRITE") for p in spec.producers}
        found |= {AclBinding(principal(c), "TOPIC", "LITERAL", spec.name, "READ") for c in spec.consumers}
    for service, names in groups.items():
        found |= {AclBinding(principal(service), "GROUP", "LITERAL", name, "READ") for name in names}
    for service, prefixes in internal.items():
        found |= {AclBinding(principal(service), "TOPIC", "PREFIXED", prefix, operation)
                  for prefix in prefixes for operation in INTERNAL_OPERATIONS}
    return sorted(found)
