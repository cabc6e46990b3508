"""The service's Kafka producer: acks=all, idempotent, and honest about an
unreachable broker (BrokerUnavailable, which the API answers with 503)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = logging.getLogger("frontdoor.kafka")

Headers = Sequence[tuple[str, bytes]]


class BrokerUnavailable(Exception):
    """The broker did not acknowledge in time."""


class Publisher:
    def __init__(self, bootstrap: str, timeout_seconds: float, client_id: str):
        self._bootstrap = bootstrap
        self._timeout = timeout_seconds
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._producer is not None

    def start(self) -> None:
        """Connect in the background, retrying: the service starts (and
        answers 503) while the broker is down."""
        self._connecting = asyncio.create_task(self._connect_forever())

    async def _connect_forever(self) -> None:
        delay = 0.5
        while self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                client_id=self._client_id,
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=int(self._timeout * 1000),
                linger_ms=5,
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.warning("broker not reachable; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                self._producer = producer

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None:
        """Return only once the broker has acknowledged the record."""
        if self._producer is None:
            raise BrokerUnavailable("not connected to the broker")
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    topic, value=value, key=key.encode() if key is not None else None, headers=list(headers)
                ),
                timeout=self._timeout,
            )
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc

    async def publish_many(self, records: Sequence[tuple[str, str, bytes, Headers]]) -> None:
        """Send a batch and wait for every acknowledgement."""
        if self._producer is None:
            raise BrokerUnavailable("not connected to the broker")
        try:
            futures = [
                await self._producer.send(topic, value=value, key=key.encode(), headers=list(headers))
                for topic, key, value, headers in records
            ]
            await asyncio.wait_for(asyncio.gather(*futures), timeout=self._timeout)
        except (KafkaError, TimeoutError) as exc:
            raise BrokerUnavailable(type(exc).__name__) from exc
