"""The service's Kafka producer: acks=all, idempotent, and honest.

`publish` returns only once the broker acknowledged, and raises
BrokerUnavailable only when the record was definitely not written: it never
gives up on a record still in the producer's buffer (which would be sent
later, so a 503 would mean "maybe"); it waits for the producer's own
verdict. A record is refused before it is buffered at all while the broker
does not answer a metadata request (probed at most once a second, and at
once after a failed send), so in an outage only the few records buffered
before it was noticed wait for the broker's return (aiokafka's idempotent
producer retries them until it comes back); every later one is answered
BrokerUnavailable at once. `ready()` says whether the broker answers now,
not whether it once did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

log = logging.getLogger("frontdoor.kafka")

Headers = Sequence[tuple[str, bytes]]
CLOUDEVENTS_CONTENT_TYPE = ("content-type", b"application/cloudevents+json")


class BrokerUnavailable(Exception):
    """The broker did not take the record: it was not written."""


@dataclass(frozen=True)
class OutboundRecord:
    topic: str
    key: str | None
    value: bytes
    headers: Headers = ()


class EventPublisher(Protocol):
    """What services need of a publisher (tests pass a fake)."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None: ...

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[bool]: ...


class Publisher:
    def __init__(self, bootstrap: str, timeout_seconds: float, client_id: str, linger_ms: int = 5,
                 probe_interval: float = 1.0):
        self._bootstrap = bootstrap
        self._timeout = timeout_seconds
        self._client_id = client_id
        self._linger_ms = linger_ms
        self._probe_interval = probe_interval
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._probed_at = -1e9
        self._probe_result = False
        self._probe_lock = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        self._probing: asyncio.Task[bool] | None = None

    def start(self) -> None:
        """Connect in the background, retrying: the service starts (and
        answers 503) while the broker is down."""
        self._connecting = asyncio.create_task(self._connect_forever(), name=f"{self._client_id}-producer")

    async def _connect_forever(self) -> None:
        delay = 0.5
        while self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap, client_id=self._client_id, acks="all", enable_idempotence=True,
                request_timeout_ms=int(self._timeout * 1000), linger_ms=self._linger_ms,
            )
            try:
                await producer.start()
            except KafkaError as exc:
                await producer.stop()
                log.warning("broker not reachable; retrying", extra={"error": type(exc).__name__,
                                                                      "retry_in_seconds": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
            else:
                self._producer = producer

    def _reset_if(self, producer: AIOKafkaProducer) -> None:
        if self._producer is producer:  # not already replaced by a concurrent failure
            self._reset()

    def _reset(self) -> None:
        """Replace the producer after a failed send. An idempotent producer
        whose batch expired has a gap in its sequence numbers, and the broker
        refuses everything after it (OutOfOrderSequenceNumber) for good: a
        new producer (a new producer id) starts clean."""
        old, self._producer = self._producer, None
        if old is not None:
            task = asyncio.create_task(self._retire(old))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        if self._connecting is None or self._connecting.done():
            self._connecting = asyncio.create_task(self._connect_forever(), name=f"{self._client_id}-producer")

    @staticmethod
    async def _retire(producer: AIOKafkaProducer) -> None:
        try:
            await producer.stop()
        except Exception as exc:
            log.warning("could not close the old producer", extra={"error": type(exc).__name__})

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def ready(self) -> bool:
        """Does the broker answer now? (A metadata request, at most one a second.)"""
        if self._producer is None:
            return False
        async with self._probe_lock:
            if time.monotonic() - self._probed_at >= self._probe_interval:
                try:
                    async with asyncio.timeout(2.0):
                        await self._producer.client.fetch_all_metadata()
                    self._probe_result = True
                except (KafkaError, TimeoutError, OSError):
                    self._probe_result = False
                self._probed_at = time.monotonic()
            return self._probe_result

    async def _producer_for_send(self) -> AIOKafkaProducer:
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to the broker")
        fresh = time.monotonic() - self._probed_at < self._probe_interval
        if self._probe_result and not fresh and not self._probe_lock.locked():
            # Known good a moment ago: send now, and look again beside it.
            self._probing = asyncio.create_task(self.ready())
        elif not self._probe_result and not await self.ready():
            raise BrokerUnavailable("the broker does not answer")
        return producer

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None:
        """Return once the broker acknowledged; BrokerUnavailable if it was not written."""
        results = await self.publish_many([OutboundRecord(topic, key, value, headers)])
        if not results[0]:
            raise BrokerUnavailable("the broker did not acknowledge")

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[bool]:
        """Send a batch without waiting on each record, then wait for every
        verdict. Returns, per record, whether the broker acknowledged it.
        Raises BrokerUnavailable (nothing sent) while the broker is down."""
        producer = await self._producer_for_send()
        futures: list[asyncio.Future[object]] = []
        try:
            for record in records:
                key = record.key.encode() if record.key is not None else None
                futures.append(await producer.send(record.topic, value=record.value, key=key,
                                                   headers=list(record.headers)))
        except KafkaError as exc:
            self._probed_at = -1e9
            if not futures:
                self._reset_if(producer)
                raise BrokerUnavailable(type(exc).__name__) from exc
        # No timeout of our own: the buffer resolves every future within the
        # request timeout, and giving up earlier would turn "sent" into "maybe".
        verdicts = await asyncio.gather(*futures, return_exceptions=True)
        acknowledged = [not isinstance(v, BaseException) for v in verdicts]
        acknowledged += [False] * (len(records) - len(acknowledged))
        if not all(acknowledged):
            self._probed_at = -1e9  # probe again before the next record is taken
            self._reset_if(producer)
            failed = next(v for v in verdicts if isinstance(v, BaseException)) if len(verdicts) else None
            log.warning("broker refused records", extra={"failed": acknowledged.count(False),
                                                          "error": type(failed).__name__ if failed else "KafkaError"})
        return acknowledged
