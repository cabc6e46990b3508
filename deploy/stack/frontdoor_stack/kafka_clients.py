"""The stack tool's own Kafka producers, each as the principal that may
write the topic: on a secured broker the demo publishes contacts as the
front-door systems, decisions as the case systems and partner data as the
partners (their declared producers), the seeds' history as the services
that produced it; on a plaintext broker one producer does for all."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from frontdoor_contracts.topics import SERVICES, all_topics
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity

from .kafka_access import KafkaAccess

PLAINTEXT_WRITER = ""  # the one producer of a plaintext broker


def writer_of(topic: str) -> str:
    """Who the stack writes `topic` as: its declared outside producer if it has one, else its first producer."""
    producers = next(spec.producers for spec in all_topics() if spec.name == topic)
    outside = [name for name in producers if name not in SERVICES]
    return (outside or list(producers))[0]


class Producers:
    """Idempotent producers (acks=all), one per principal, started when first needed."""

    def __init__(self, bootstrap: str, access: KafkaAccess | None, **options: Any):
        self._bootstrap, self._access, self._options = bootstrap, access, options
        self._producers: dict[str, AIOKafkaProducer] = {}

    def _security(self, writer: str) -> KafkaSecurity:
        return self._access.connection(writer) if self._access is not None else PLAINTEXT

    async def producer_for(self, topic: str) -> AIOKafkaProducer:
        writer = writer_of(topic) if self._access is not None else PLAINTEXT_WRITER
        producer = self._producers.get(writer)
        if producer is None:
            producer = AIOKafkaProducer(bootstrap_servers=self._bootstrap, acks="all", enable_idempotence=True,
                                        **self._options, **self._security(writer).client_kwargs())
            self._producers[writer] = producer
            await producer.start()
        return producer

    async def send(self, topic: str, value: bytes, key: bytes | None = None,
                   headers: Sequence[tuple[str, bytes]] = ()) -> asyncio.Future[Any]:
        producer = await self.producer_for(topic)
        future: asyncio.Future[Any] = await producer.send(topic, value, key=key, headers=list(headers) or None)
        return future

    async def send_and_wait(self, topic: str, value: bytes, key: bytes | None = None,
                            headers: Sequence[tuple[str, bytes]] = ()) -> Any:
        return await (await self.send(topic, value, key, headers))

    async def stop(self) -> None:
        producers, self._producers = list(self._producers.values()), {}
        for producer in producers:
            await producer.stop()
