"""Composition root: builds everything in the lifespan (nothing at import
time): engine, rules, publisher, outbox relay, trigger consumer, SLA timer."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlmodel import Session

from frontdoor_contracts.errors import field_path, safe_message
from frontdoor_contracts.vocabulary import TargetCalendar
from frontdoor_platform import logs
from frontdoor_platform.kafka import Publisher

from . import handlers
from .api import router
from .consumer import TriggerConsumer
from .database import build_engine, create_schema
from .domain.calendar import TargetPolicy, england_and_wales_bank_holidays
from .domain.meetings import MeetingSchedule
from .domain.sla import SlaPolicy
from .domain.triggers import NfaReviewPolicy
from .metrics import Metrics
from .outbox import OutboxRelay
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger("allocation")


def rules_from(settings: Settings) -> handlers.Rules:
    return handlers.Rules(
        target=TargetPolicy(settings.target_days, TargetCalendar(settings.target_calendar)),
        bank_holidays=england_and_wales_bank_holidays(),
        sla=SlaPolicy(due_soon_lead=timedelta(days=settings.due_soon_days)),
        nfa=NfaReviewPolicy.parse(settings.nfa_review),
        source_uri=settings.source_uri,
    )


async def sla_timer(rt: Runtime) -> None:
    """Wake every few seconds and emit what is owed; on start this catches
    up from the stored cases, so a due time missed while stopped still fires once."""
    while True:
        try:
            with Session(rt.engine) as session:
                emitted = handlers.sla_sweep(session, rt.rules, rt.clock())
                session.commit()
            for _, kind in emitted:
                rt.metrics.sla_events.labels(kind.value).inc()
            if emitted:
                rt.relay.wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("SLA sweep failed; retrying", extra={"error": type(exc).__name__})
        await asyncio.sleep(rt.settings.sla_check_seconds)


def create_app(settings: Settings | None = None, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        logs.configure(config.log_level)
        engine = build_engine(config.database_url)
        create_schema(engine)
        rules = rules_from(config)
        metrics = Metrics()
        publisher = Publisher(config.kafka_bootstrap, config.publish_timeout_seconds, client_id="allocation")
        publisher.start()
        relay = OutboxRelay(engine, publisher)
        consumer = TriggerConsumer(config.kafka_bootstrap, config.consumer_group, engine, rules, publisher, relay,
                                   metrics, clock)
        rt = Runtime(config, engine, rules, MeetingSchedule.parse(config.meeting_weekday, config.meeting_time),
                     metrics, publisher, relay, consumer, clock)
        app.state.runtime = rt
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay"),
                 asyncio.create_task(sla_timer(rt), name="sla-timer")]
        if config.run_consumer:
            tasks.append(asyncio.create_task(consumer.run(), name="consumer"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await publisher.stop()
            engine.dispose()

    app = FastAPI(title="Front Door allocation service", version="1.0.0", lifespan=lifespan,
                  description="Early Help allocation: every family from SPA decision to offer within the target.")
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _safe_validation_error)
    return app


async def _safe_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [{"field": field_path(tuple(e["loc"])), "reason": str(e["type"]), "message": safe_message(e)}
              for e in exc.errors()]
    return JSONResponse(status_code=422, content={"detail": errors})
