"""Composition root: the kit's plumbing (engine, publisher, relay, consumer)
built in the lifespan (nothing at import time) and handed to the routes.
Tests pass their own publisher, engine and clock."""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from frontdoor_contracts.retention import configured as configured_schedule
from frontdoor_platform import service
from frontdoor_platform.clock import Clock, configured_clock
from frontdoor_platform.http import Gate
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.lifespan import service_app

from . import __version__, retention, subscriptions
from .access import keyring
from .api import router
from .metrics import Metrics
from .migrations import migrate
from .models import OutboxEvent
from .person_keys import Sealing
from .privacy.api import router as privacy_router
from .runtime import Runtime
from .settings import Settings


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock | None = None) -> FastAPI:
    config = settings or Settings()
    clock = clock or configured_clock()
    schedule = configured_schedule()
    sealing = Sealing.of(config)
    metrics = Metrics()

    def started(app: FastAPI, parts: service.Plumbing) -> Mapping[str, Coroutine[Any, Any, Any]]:
        app.state.runtime = Runtime(config, parts.engine, metrics, parts.publisher, parts.relay, parts.consumer,
                                    Gate(config.max_requests_in_flight), clock, sealing)
        return {}

    lifespan = service.lifespan(config, metrics, database_url=config.database_url, client_id="contacts",
                                outbox=OutboxEvent,
                                routes=lambda: subscriptions.routes(config, metrics, schedule, sealing),
                                migrate=migrate, keyring=keyring(), clock=clock, publisher=publisher, engine=engine,
                                started=started, schedule=schedule, purges=retention.purges)
    app = service_app("Front Door contacts service", "Front-door intake, MASH decisions, people matching, "
                      "re-referrals, DA incidents.", __version__, lifespan, config)
    app.include_router(router)
    app.include_router(privacy_router)
    return app
