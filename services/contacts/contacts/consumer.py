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
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted
from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS, dead_letter_topic

from . import handlers
from .kafka import Publisher
from .metrics import Metrics
from .outbox import OutboxRelay
from .settings import Settings

log = logging.getLogger("contacts.consumer")
TOPICS = (FRONTDOOR_CONTACTS.name, FRONTDOOR_DECISIONS.name)


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

    def handle(self, record: ConsumerRecord[bytes, bytes]) -> handlers.Outcome:
        """Validate and apply one record in one transaction; raises InvalidEvent."""
        settings = self._settings
        with Session(self._engine) as session:
            if record.topic == FRONTDOOR_CONTACTS.name:
                contact = parse_event(record.value or b"", ContactSubmitted, lenient=True)
                channel = handlers.channel_of(contact, api_source(settings))
                outcome = handlers.record_contact(session, contact, channel, settings.source_uri, self._clock())
                if not outcome.duplicate:
                    self._metrics.contacts_received.labels(contact.data.referrer_source.value, channel.value).inc()
                    if contact.data.da_incident is not None:
                        self._metrics.da_incidents.inc()
            else:
                decision = parse_event(record.value or b"", DecisionSubmitted, lenient=True)
                outcome = handlers.record_decision(session, decision, settings.source_uri, self._clock())
            session.commit()
        self._count(record.topic, outcome)
        return outcome

    def _count(self, topic: str, outcome: handlers.Outcome) -> None:
        if outcome.duplicate:
            self._metrics.duplicates.labels(topic).inc()
        if outcome.parked:
            self._metrics.decisions_parked.inc()
        for decision in outcome.decisions:
            self._metrics.decisions.labels(decision.value).inc()
        self._metrics.referrals.inc(outcome.referrals)
        self._metrics.re_referrals.inc(outcome.re_referrals)

    async def dead_letter(self, record: ConsumerRecord[bytes, bytes], error: InvalidEvent) -> None:
        headers = [
            *(record.headers or ()),
            ("dlq.reason", error.reason.encode()),
            ("dlq.field", error.field.encode()),
            ("dlq.message", "; ".join(f"{e.field}: {e.message}" for e in error.errors).encode()[:2000]),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
        ]
        key = record.key.decode(errors="replace") if record.key is not None else None
        await self._publisher.publish(dead_letter_topic(record.topic), key, record.value or b"", headers)
        self._metrics.dead_lettered.labels(record.topic, error.reason).inc()
        log.warning("dead-lettered", extra={"topic": record.topic, "partition": record.partition,
                                            "offset": record.offset, "reason": error.reason, "field": error.field})

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        started = time.perf_counter()
        try:
            outcome = self.handle(record)
        except InvalidEvent as error:
            await self.dead_letter(record, error)
        else:
            if outcome.emitted:
                self._relay.wake()
            log.info("processed", extra={"topic": record.topic, "offset": record.offset,
                                         "contact_id": str(outcome.contact_id), "duplicate": outcome.duplicate})
        self._metrics.processing_seconds.labels(record.topic).observe(time.perf_counter() - started)

    async def run(self) -> None:
        settings = self._settings
        consumer = AIOKafkaConsumer(
            *TOPICS, bootstrap_servers=settings.kafka_bootstrap, group_id=settings.consumer_group,
            enable_auto_commit=False, auto_offset_reset="earliest", client_id="contacts",
        )
        while True:
            try:
                await consumer.start()
                break
            except Exception as exc:  # broker not up yet: keep trying, loudly
                log.warning("consumer cannot reach the broker; retrying", extra={"error": type(exc).__name__})
                await asyncio.sleep(2.0)
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=settings.consumer_batch_size)
                try:
                    for records in batches.values():
                        for record in records:
                            await self.process(record)
                except Exception as exc:
                    # Not the input's fault (database or broker trouble): keep
                    # the offsets, go back and try again.
                    log.error("processing failed; retrying from the last commit",
                              extra={"error": type(exc).__name__})
                    await asyncio.sleep(1.0)
                    for tp in consumer.assignment():
                        committed = await consumer.committed(tp)
                        if committed is None:
                            await consumer.seek_to_beginning(tp)
                        else:
                            consumer.seek(tp, committed)
                    continue
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
