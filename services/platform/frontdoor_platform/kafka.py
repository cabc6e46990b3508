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

A record that can never be published as it is (larger than MAX_RECORD_BYTES
with its key and headers, measured before it is sent; a bad topic name; a
topic the broker confirms it lacks; a broker verdict no retry changes) is
`Refused(reason)` in `publish_many`'s answer and RecordRefused from `publish`,
never BrokerUnavailable. A later record of its topic and key is held back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError, UnknownTopicOrPartitionError

from frontdoor_contracts.limits import MAX_RECORD_BYTES

from .kafka_records import (
    CLOUDEVENTS_CONTENT_TYPE,
    Headers,
    OutboundRecord,
    Refused,
    Verdict,
    record_size,
    refusal_of,
    settle_before_send,
)
from .kafka_security import PLAINTEXT, KafkaSecurity

# The record-level names stay importable from here, where the services have always found them.
__all__ = [
    "CLOUDEVENTS_CONTENT_TYPE", "BrokerUnavailable", "EventPublisher", "Headers", "OutboundRecord", "Publisher",
    "RecordRefused", "Refused", "Verdict", "record_size", "refusal_of", "settle_before_send",
]

log = logging.getLogger("frontdoor.kafka")


class BrokerUnavailable(Exception):
    """The broker did not take the record: it was not written."""


class RecordRefused(Exception):
    """The record can never be published as it is. `reason` is a bounded code (`record_too_large`,
    `invalid_topic`, `unknown_topic`, `refused:<ErrorClassName>`), never the record's content."""

    def __init__(self, reason: str):
        super().__init__(f"the record cannot be published ({reason})")
        self.reason = reason


class EventPublisher(Protocol):
    """What services need of a publisher (tests pass a fake). A fake's
    `publish_many` may answer plain booleans: it never refuses."""

    def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def ready(self) -> bool: ...

    async def publish(self, topic: str, key: str | None, value: bytes, headers: Headers = ()) -> None: ...

    async def publish_many(self, records: Sequence[OutboundRecord]) -> Sequence[Verdict]: ...


class Publisher:
    def __init__(self, bootstrap: str, timeout_seconds: float, client_id: str, linger_ms: int = 0,
                 probe_interval: float = 1.0, security: KafkaSecurity = PLAINTEXT):
        self._bootstrap, self._security = bootstrap, security
        self._timeout = timeout_seconds
        self._client_id = client_id
        # No linger: a relay's batch is appended before the producer's sender runs (up to a produce batch, 16 kB,
        # a partition; past it the sender is on its way), and so are the API's requests between two of its
        # turns; 5 ms more cost each DA alert 5-10 ms (profiles.md).
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
                max_request_size=MAX_RECORD_BYTES, **self._security.client_kwargs(),
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
        """Return once the broker acknowledged; BrokerUnavailable if it was
        not written, RecordRefused if it never can be."""
        verdict = (await self.publish_many([OutboundRecord(topic, key, value, headers)]))[0]
        if isinstance(verdict, Refused):
            raise RecordRefused(verdict.reason)
        if not verdict:
            raise BrokerUnavailable("the broker did not acknowledge")

    async def publish_many(self, records: Sequence[OutboundRecord]) -> list[Verdict]:
        """Send a batch without waiting on each record, then wait for every
        verdict. Returns, per record, True (acknowledged), False (not written:
        try again) or Refused(reason) (never publishable as it is). Raises
        BrokerUnavailable (nothing sent, nothing refused) while the broker is down."""
        verdicts = settle_before_send(records)
        if None not in verdicts:
            return [v for v in verdicts if v is not None]
        try:
            producer = await self._producer_for_send()
        except BrokerUnavailable:
            if any(isinstance(v, Refused) for v in verdicts):
                return _settled(verdicts)
            raise
        futures = await self._send(producer, records, verdicts)
        await self._await_acks(producer, futures, verdicts)
        return _settled(verdicts)

    async def _send(self, producer: AIOKafkaProducer, records: Sequence[OutboundRecord],
                    verdicts: list[Verdict | None]) -> dict[int, asyncio.Future[object]]:
        """Hand the producer each record still unsettled, in order; a record behind a refused one of its topic
        and key is held back (False). The first failure that is not the record's stops the sending (raising
        BrokerUnavailable if nothing was sent or refused yet). Returns the futures of the records sent, by index."""
        blocked = {(r.topic, r.key) for r, v in zip(records, verdicts, strict=True) if isinstance(v, Refused)}
        futures: dict[int, asyncio.Future[object]] = {}
        for i, record in enumerate(records):
            if verdicts[i] is not None:
                continue
            if (record.topic, record.key) in blocked:
                verdicts[i] = False  # behind a refused record of its key: held back, so order holds
                continue
            try:
                key = record.key.encode() if record.key is not None else None
                futures[i] = await producer.send(record.topic, value=record.value, key=key,
                                                 headers=list(record.headers))
            except KafkaError as exc:
                reason = await self._refusal_at_send(producer, record.topic, exc)
                if reason is not None:
                    verdicts[i] = Refused(reason)
                    blocked.add((record.topic, record.key))
                    continue
                self._probed_at = -1e9
                if not futures and not blocked:
                    self._reset_if(producer)
                    raise BrokerUnavailable(type(exc).__name__) from exc
                break  # the broker is in trouble: nothing more is sent
        return futures

    async def _await_acks(self, producer: AIOKafkaProducer, futures: dict[int, asyncio.Future[object]],
                          verdicts: list[Verdict | None]) -> None:
        """Fill in the sent records' verdicts from the broker's answers."""
        # No timeout of our own: the buffer resolves every future within the
        # request timeout, and giving up earlier would turn "sent" into "maybe".
        results = await asyncio.gather(*futures.values(), return_exceptions=True)
        failed: list[BaseException] = []
        for i, result in zip(futures, results, strict=True):
            if isinstance(result, BaseException):
                failed.append(result)
                reason = refusal_of(result)
                verdicts[i] = Refused(reason) if reason is not None else False
            else:
                verdicts[i] = True
        if failed:
            # A failed batch leaves a gap in the idempotent producer's sequence: a new producer starts clean.
            self._probed_at = -1e9  # probe again before the next record is taken
            self._reset_if(producer)
            log.warning("broker refused records", extra={"failed": len(failed), "error": type(failed[0]).__name__})

    @staticmethod
    async def _refusal_at_send(producer: AIOKafkaProducer, topic: str, error: KafkaError) -> str | None:
        """Why a record the producer would not take can never be published, or None. An unknown topic
        is refused only once the broker answers without it (in an outage it is never a guess)."""
        if not isinstance(error, UnknownTopicOrPartitionError):
            return refusal_of(error)
        try:
            async with asyncio.timeout(5.0):
                metadata = await producer.client.fetch_all_metadata()
        except (KafkaError, TimeoutError, OSError):
            return None
        return None if topic in metadata.topics() else "unknown_topic"


def _settled(verdicts: Sequence[Verdict | None]) -> list[Verdict]:
    """Every verdict, a record never settled counted as not written (False)."""
    return [False if v is None else v for v in verdicts]
