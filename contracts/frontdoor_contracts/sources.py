"""Which producer a CloudEvent's `source` claims, and whether the topic it
came on lets that producer write.

Each service writes its events under its own namespace: `urn:frontdoor:<service>`
(its settings' `source_uri`), or below it (`urn:frontdoor:contacts:api:<client>`,
what the contacts API gives the contacts and decisions an API client submits).
A source in a service's namespace claims that service; the topic's declared
producers (`topics.py`) must include it, or the record is dead-lettered
(`source_not_allowed`). So an outside system (a front-door system, a case
system, a school's MIS, a partner) cannot pass its records off as a
service's on a topic it may write, nor one service as another.

Any other source is an outside system's own URN (they have no namespace of
ours: `urn:la:census`, `urn:frontdoor:demo:...`): the broker's ACLs say which
topics each outside system's principal may write, and Kafka does not tell a
consumer which principal wrote a record, so such a source is not judged here.
Nor can this check tell an outside system from a service that shares its
topic (`frontdoor.contacts.v1` is written by front-door systems and by the
contacts API): see docs/security.md."""

from __future__ import annotations

from functools import cache

from .errors import FieldError, InvalidEvent
from .topics import SERVICES, TopicSpec, all_topics

NAMESPACE = "urn:frontdoor"
# Every service's own namespace: its events' sources are this or start with this and ":".
SERVICE_SOURCES: dict[str, str] = {service: f"{NAMESPACE}:{service}" for service in SERVICES}
SOURCE_NOT_ALLOWED = "source_not_allowed"


def claimed_service(source: str) -> str | None:
    """The service whose namespace `source` is in, or None (an outside system's source)."""
    if not source.startswith(NAMESPACE + ":"):
        return None
    service = source[len(NAMESPACE) + 1:].split(":", 1)[0]  # `urn:frontdoor:<service>` or `...:<service>:...`
    return service if service in SERVICE_SOURCES else None


def source_allowed(spec: TopicSpec, source: str) -> bool:
    """May a record on `spec`'s topic carry `source`? A service it claims must be a declared producer."""
    service = claimed_service(source)
    return service is None or service in spec.producers


@cache
def _declared() -> dict[str, TopicSpec]:
    return {spec.name: spec for spec in all_topics()}


def check_source(topic: str, source: str) -> None:
    """Raise InvalidEvent(`source_not_allowed`) when `source` claims a service that is not a declared producer
    of `topic`. A topic that is not declared (a test's, the bench's) has nobody to check against."""
    spec = _declared().get(topic)
    if spec is not None and not source_allowed(spec, source):
        raise InvalidEvent(SOURCE_NOT_ALLOWED, [FieldError(
            "source", "producer_not_allowed", "the source claims a producer this topic does not declare")])
