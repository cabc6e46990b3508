"""Consumes the front-door topics. Offsets are committed only after the
effects are durable (database committed, dead letters acknowledged), so a
crash loses nothing; handlers dedupe, so redelivery duplicates nothing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.deadletters import dead_letter_headers
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS, dead_letter_topic
from frontdoor_platform.kafka import Publisher

from . import handlers
from .metrics import Metrics
from .outbox import OutboxRelay
from .settings import Settings

log = logging.getLogger("contacts.consumer")
TOPICS = (FRONTDOOR_CONTACTS.name, FRONTDOOR_DECISIONS.name)
CONFLICT = InvalidEvent("integrity_conflict", [FieldError("", "conflict", "the record conflicts with stored data")])


def api_source(settings: Settings) -> str:
    return settings.source_uri + ":api"


class FrontDoorConsumer:
    def __init__(self, settings: Settings, engine: Engine, publisher: Publisher, relay: OutboxRelay,
                 metrics: Metrics, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._settings = settings
        self._engine = engine
        self._publisher = publisher
        self._relay = relay
        self._metrics = metrics
        self._clock = clock
        self.running = False

    def handle(self, record: ConsumerRecord[bytes, bytes]) -> tuple[handlers.Outcome, str, str | None]:
        """Validate and apply one record in one transaction; raises InvalidEvent.
        Returns the outcome, the event id and the trace context."""
        settings = self._settings
        with Session(self._engine) as session:
            if record.topic == FRONTDOOR_CONTACTS.name:
                contact = parse_event(record.value or b"", ContactSubmitted, lenient=True)
                channel = handlers.channel_of(contact, api_source(settings))
                outcome = handlers.record_contact(session, contact, channel, settings.source_uri, self._clock())
                session.commit()
                if not outcome.duplicate:
                    self._metrics.contacts_received.labels(contact.data.referrer_source.value, channel.value).inc()
                    if contact.data.da_incident is not None:
                        self._metrics.da_incidents.inc()
                event_id, trace = contact.id, contact.traceparent
            else:
                decision = parse_event(record.value or b"", DecisionSubmitted, lenient=True)
                outcome = handlers.record_decision(session, decision, settings.source_uri, self._clock())
                session.commit()
                event_id, trace = decision.id, decision.traceparent
        self._count(record.topic, outcome)
        return outcome, event_id, trace

    def _count(self, topic: str, outcome: handlers.Outcome) -> None:
        if outcome.duplicate:
            self._metrics.duplicates.labels(topic).inc()
        if outcome.parked:
            self._metrics.decisions_parked.inc()
        for decision in outcome.decisions:
            self._metrics.decisions.labels(decision.value).inc()
        for reason in outcome.dead_lettered:
            self._metrics.dead_lettered.labels(FRONTDOOR_DECISIONS.name, reason).inc()
        self._metrics.referrals.inc(outcome.referrals)
        self._metrics.re_referrals.inc(outcome.re_referrals)

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: InvalidEvent) -> None:
        headers = dead_letter_headers(error, record.topic, record.partition, record.offset, record.headers or ())
        key = record.key.decode(errors="replace") if record.key is not None else None
        await self._publisher.publish(dead_letter_topic(record.topic), key, record.value or b"", headers)
        self._metrics.dead_lettered.labels(record.topic, error.reason).inc()
        log.warning("dead-lettered", extra={"topic": record.topic, "partition": record.partition,
                                            "offset": record.offset, "reason": error.reason, "field": error.field})

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Handle one record; True when it was dead-lettered."""
        started = time.perf_counter()
        try:
            outcome, event_id, trace = self.handle(record)
        except InvalidEvent as error:
            await self.dead_letter(record, error)
            return True
        except IntegrityError:
            # Well-formed but contradicting what is stored: retrying cannot help.
            await self.dead_letter(record, CONFLICT)
            return True
        if outcome.emitted:
            self._relay.wake()
        log.info("processed", extra={"topic": record.topic, "offset": record.offset, "event_id": event_id,
                                     "traceparent": trace, "contact_id": str(outcome.contact_id),
                                     "duplicate": outcome.duplicate, "parked": outcome.parked})
        self._metrics.processing_seconds.labels(record.topic).observe(time.perf_counter() - started)
        return False

    async def run(self) -> None:
        """Consume until cancelled; any failure (broker, database, rebalance)
        restarts the consumer from the last committed offsets after a pause."""
        delay = 1.0
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("consumer failed; restarting from the last commit",
                          extra={"error": type(exc).__name__, "retry_in_seconds": delay})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _consume(self) -> None:
        settings = self._settings
        consumer = AIOKafkaConsumer(
            *TOPICS, bootstrap_servers=settings.kafka_bootstrap, group_id=settings.consumer_group,
            enable_auto_commit=False, auto_offset_reset="earliest", client_id="contacts",
        )
        await consumer.start()
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=settings.consumer_batch_size)
                for tp, records in batches.items():
                    for record in records:
                        if await self.process(record):
                            # Everything before it in this partition is durable:
                            # commit now, so a retry never dead-letters it twice.
                            await consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "")})
                if batches:
                    await consumer.commit()
                await self._update_lag(consumer)
        finally:
            self.running = False
            await consumer.stop()

    async def _update_lag(self, consumer: AIOKafkaConsumer) -> None:
        lag: dict[str, int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - await consumer.position(tp))
        for topic, value in lag.items():
            self._metrics.consumer_lag.labels(topic).set(value)



