"""Composition root: builds everything in the lifespan (nothing at import
time): engine, rules, publisher, outbox relay, trigger consumer, SLA timer;
the API's routes and the staff pages under /board (`page`). Tests pass their
own publisher, engine and clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.retention import configured as configured_schedule
from frontdoor_contracts.vocabulary import TargetCalendar
from frontdoor_platform import service
from frontdoor_platform.clock import Clock, configured_clock
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.lifespan import service_app

from . import __version__, handlers, retention, store, subscriptions
from .access import IMPLIED, keyring
from .api import router
from .domain.calendar import TargetPolicy, days_between, england_and_wales_bank_holidays, local_date
from .domain.meetings import MeetingSchedule
from .domain.sla import SlaPolicy
from .domain.triggers import NfaReviewPolicy
from .metrics import Metrics, WaitingCases
from .migrations import migrate
from .models import OutboxEvent
from .page import install as install_pages
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


def _sweep(rt: Runtime) -> int:
    with Session(for_writing(rt.engine)) as session:
        emitted = handlers.sla_sweep(session, rt.rules, rt.clock())
        session.commit()
    for _, kind in emitted:
        rt.metrics.sla_events.labels(kind.value).inc()
    return len(emitted)


async def sla_timer(rt: Runtime) -> None:
    """Wake every few seconds and emit what is owed; on start this catches
    up from the stored cases, so a due time missed while stopped still fires once."""
    while True:
        try:
            if await in_thread(_sweep, rt):
                rt.relay.wake()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("SLA sweep failed; retrying", extra={"error": type(exc).__name__})
        await asyncio.sleep(rt.settings.sla_check_seconds)


def _waiting(engine: Engine, rules: handlers.Rules, clock: Clock) -> WaitingCases:
    def read(now: datetime) -> tuple[list[int], int]:
        today = local_date(now)
        with Session(engine) as session:
            starts = store.awaiting_offer_starts(session)
            overdue = store.overdue_count(session, now)
        return [days_between(local_date(s), today, rules.target.calendar, rules.bank_holidays) for s in starts], overdue

    return WaitingCases(read, clock)


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock | None = None) -> FastAPI:
    config = settings or Settings()
    clock = clock or configured_clock()
    schedule = configured_schedule()
    rules = rules_from(config)
    metrics = Metrics()

    def started(app: FastAPI, parts: service.Plumbing) -> Mapping[str, Coroutine[Any, Any, Any]]:
        metrics.add_collector(_waiting(parts.engine, rules, clock))
        rt = Runtime(config, parts.engine, rules, MeetingSchedule.parse(config.meeting_weekday, config.meeting_time),
                     metrics, parts.publisher, parts.relay, parts.consumer, clock)
        app.state.runtime = rt
        return {"sla-timer": sla_timer(rt)}

    lifespan = service.lifespan(config, metrics, database_url=config.database_url, client_id="allocation",
                                outbox=OutboxEvent, routes=lambda: subscriptions.routes(rules, metrics, schedule),
                                migrate=migrate, keyring=keyring(), implied=IMPLIED, clock=clock, publisher=publisher,
                                engine=engine, started=started, schedule=schedule, purges=retention.purges)
    app = service_app("Front Door allocation service", "Early Help allocation: every family from SPA decision to "
                      "offer within the target.", __version__, lifespan, config)
    app.include_router(router)
    install_pages(app, config)
    return app
