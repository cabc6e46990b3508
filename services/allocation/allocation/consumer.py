"""Consumes the triggers (MASH decisions, step-downs, families identified
in data). Offsets are committed after the case change is durable; a
redelivered trigger changes nothing (the domain recognises it)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.structs import OffsetAndMetadata
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdoor_contracts.allocation import StepDownRequested
from frontdoor_contracts.contacts import ContactDecided
from frontdoor_contracts.deadletters import dead_letter_headers
from frontdoor_contracts.errors import FieldError, InvalidEvent, parse_event
from frontdoor_contracts.outcomes import FamilyIdentified
from frontdoor_contracts.topics import (
    CONTACTS_DECIDED,
    FRONTDOOR_STEP_DOWNS,
    OUTCOMES_FAMILY_IDENTIFIED,
    dead_letter_topic,
)
from frontdoor_platform.kafka import Publisher

from . import handlers
from .domain.cases import TriggerOutcome
from .domain.triggers import Trigger, trigger_from_decided, trigger_from_family_identified, trigger_from_step_down
from .metrics import Metrics
from .outbox import OutboxRelay

log = logging.getLogger("allocation.consumer")
TOPICS = (CONTACTS_DECIDED.name, FRONTDOOR_STEP_DOWNS.name, OUTCOMES_FAMILY_IDENTIFIED.name)


class TriggerConsumer:
    def __init__(self, bootstrap: str, group: str, engine: Engine, rules: handlers.Rules, publisher: Publisher,
                 relay: OutboxRelay, metrics: Metrics, clock: Callable[[], datetime] = lambda: datetime.now(UTC)):
        self._bootstrap, self._group = bootstrap, group
        self._engine, self._rules = engine, rules
        self._publisher, self._relay, self._metrics = publisher, relay, metrics
        self._clock = clock
        self.running = False

    def trigger_of(self, record: ConsumerRecord[bytes, bytes]) -> Trigger | None:
        raw = record.value or b""
        if record.topic == CONTACTS_DECIDED.name:
            return trigger_from_decided(parse_event(raw, ContactDecided, lenient=True), self._rules.nfa)
        if record.topic == FRONTDOOR_STEP_DOWNS.name:
            return trigger_from_step_down(parse_event(raw, StepDownRequested, lenient=True))
        return trigger_from_family_identified(parse_event(raw, FamilyIdentified, lenient=True))

    def handle(self, record: ConsumerRecord[bytes, bytes]) -> TriggerOutcome | None:
        trigger = self.trigger_of(record)
        if trigger is None:
            return None  # a decision that opens nothing
        with Session(self._engine) as session:
            outcome, _ = handlers.on_trigger(session, trigger, self._rules, self._clock())
            session.commit()
        if outcome is TriggerOutcome.OPENED:
            self._metrics.cases_opened.labels(trigger.source.value).inc()
            self._relay.wake()
        elif outcome is TriggerOutcome.ATTACHED:
            self._metrics.triggers_attached.labels(trigger.source.value).inc()
        return outcome

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Handle one record; True when it was dead-lettered."""
        try:
            outcome = self.handle(record)
        except (ValueError, IntegrityError) as exc:
            # Well-formed but impossible to apply (it contradicts stored state):
            # retrying cannot help. A database or broker outage is not caught here.
            return await self._dead_letter(record, InvalidEvent("processing_failed", [
                FieldError("", type(exc).__name__, "the event could not be applied to the stored case")]))
        except InvalidEvent as error:
            return await self._dead_letter(record, error)
        log.info("processed", extra={"topic": record.topic, "offset": record.offset,
                                     "outcome": outcome.value if outcome else "no_case"})
        return False

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], error: InvalidEvent) -> bool:
        headers = dead_letter_headers(error, record.topic, record.partition, record.offset, record.headers or ())
        key = record.key.decode(errors="replace") if record.key is not None else None
        await self._publisher.publish(dead_letter_topic(record.topic), key, record.value or b"", headers)
        self._metrics.dead_lettered.labels(record.topic, error.reason).inc()
        log.warning("dead-lettered", extra={"topic": record.topic, "offset": record.offset,
                                            "reason": error.reason, "field": error.field})
        return True

    async def run(self) -> None:
        delay = 1.0
        while True:
            try:
                await self._consume()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.error("consumer failed; restarting from the last commit", extra={"error": type(exc).__name__})
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _consume(self) -> None:
        consumer = AIOKafkaConsumer(*TOPICS, bootstrap_servers=self._bootstrap, group_id=self._group,
                                    enable_auto_commit=False, auto_offset_reset="earliest", client_id="allocation")
        await consumer.start()
        self.running = True
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=500)
                for tp, records in batches.items():
                    for record in records:
                        if await self.process(record):
                            await consumer.commit({tp: OffsetAndMetadata(record.offset + 1, "")})
                if batches:
                    await consumer.commit()
                lag: dict[str, int] = {}
                for tp in consumer.assignment():
                    highwater = consumer.highwater(tp)
                    if highwater is not None:
                        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, highwater - await consumer.position(tp))
                for topic, value in lag.items():
                    self._metrics.consumer_lag.labels(topic).set(value)
        finally:
            self.running = False
            await consumer.stop()
