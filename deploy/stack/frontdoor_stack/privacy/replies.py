"""Every service's answer to one privacy request, read from `privacy.replies.v1` from its earliest offset
(an answer may be published before the reader starts) with the stack's Kafka connection (on the secured
stack its admin: no service reads the reply topic), keeping the first answer of each expected service to
this request and skipping everything else (other requests' answers, records that are not answers).

Every service may write the reply topic, so an answer is taken as service S's only when its CloudEvent
`source` is in S's namespace (`SERVICE_SOURCES[S]`, or below it: `urn:frontdoor:<S>:...`); an answer that
names S from any other source (another service passing its record off as S's "erased") is ignored and
counted by the service it claimed (`refused`), never kept, so it cannot stand in for S's real answer. This
catches a service answering for another by mistake or by a forged `service` field; Kafka does not tell a
consumer which principal wrote a record, so a writer of the topic that forges the source as well is for the
broker's ACLs and the services' own keys to stop, not this check (see the stack README).

`Progress` is told of each answer and of each quiet second, so the command can show who answered."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer

from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.privacy import PrivacyAnswered
from frontdoor_contracts.sources import SERVICE_SOURCES
from frontdoor_contracts.topics import PRIVACY_REPLIES
from frontdoor_platform.kafka_security import KafkaSecurity

Progress = Callable[["Answers", float], None]  # the answers so far, seconds waited


def from_service(source: str, service: str) -> bool:
    """Is `source` in `service`'s own namespace (its `source_uri`, or below it)?"""
    namespace = SERVICE_SOURCES.get(service)
    return namespace is not None and (source == namespace or source.startswith(namespace + ":"))


@dataclass
class Answers:
    """The answers kept so far, by service, and the records read past."""

    expected: tuple[str, ...]
    by_service: dict[str, PrivacyAnswered] = field(default_factory=dict)
    skipped: int = 0  # records that were not an answer (bytes that do not parse as one)
    refused: dict[str, int] = field(default_factory=dict)  # answers naming a service, from another's source

    @property
    def missing(self) -> list[str]:
        return [service for service in self.expected if service not in self.by_service]

    @property
    def complete(self) -> bool:
        return not self.missing

    def take(self, raw: bytes | None, request_id: uuid.UUID) -> PrivacyAnswered | None:
        """The record's answer if it is a new one to this request from an expected service, its source in that
        service's namespace."""
        if raw is None:
            return None
        try:
            event = parse_event(raw, PrivacyAnswered, lenient=True)
        except InvalidEvent:
            self.skipped += 1
            return None
        answer = event.data
        if answer.request_id != request_id or answer.service not in self.expected:
            return None
        if not from_service(event.source, answer.service):  # another writer's record claiming to be S's answer
            self.refused[answer.service] = self.refused.get(answer.service, 0) + 1
            return None
        if answer.service in self.by_service:  # a replayed answer: the first one stands
            return None
        self.by_service[answer.service] = answer
        return answer


class ReplyReader:
    """A consumer of the reply topic without a group (nothing committed), started before the request is
    sent: a broker that cannot be reached stops the command before anything is asked."""

    def __init__(self, bootstrap: str, security: KafkaSecurity, request_timeout_ms: int = 30000) -> None:
        self._consumer = AIOKafkaConsumer(PRIVACY_REPLIES.name, bootstrap_servers=bootstrap, group_id=None,
                                          enable_auto_commit=False, auto_offset_reset="earliest",
                                          request_timeout_ms=request_timeout_ms, **security.client_kwargs())

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    async def answers(self, request_id: uuid.UUID, expected: Iterable[str], timeout: float,
                      progress: Progress | None = None) -> Answers:
        """Until every expected service answered, or `timeout` seconds passed (then `missing` says who)."""
        answers = Answers(tuple(expected))
        started = time.monotonic()
        while not answers.complete:
            waited = time.monotonic() - started
            if waited >= timeout:
                break
            batches = await self._consumer.getmany(timeout_ms=int(min(1.0, timeout - waited) * 1000) or 1)
            for records in batches.values():
                for record in records:
                    answers.take(record.value, request_id)
            if progress is not None:
                progress(answers, time.monotonic() - started)
        return answers
