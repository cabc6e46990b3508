"""Composition root: the kit's plumbing, built in the lifespan (nothing at
import time), with faust agents in place of the kit's consumer loop (the
worker process runs them), the KPI gauges, the API and the chronology page
(the kit's staff sign-in installed on the app). Tests pass their own
publisher, engine and clock."""

from __future__ import annotations

from collections.abc import Coroutine, Mapping
from typing import Any

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from frontdoor_contracts.retention import configured as configured_schedule
from frontdoor_platform import service
from frontdoor_platform.clock import Clock, configured_clock
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.lifespan import service_app
from frontdoor_platform.outbox import OutboxRelay
from frontdoor_platform.routes import Routes

from . import __version__, retention
from .access import IMPLIED, keyring
from .api import router
from .metrics import Metrics
from .migrations import migrate
from .models import OutboxEvent
from .page import PAGES
from .page import router as page_router
from .readmodel import privacy
from .readmodel.gauges import kpi_collector
from .runtime import Runtime
from .settings import Settings
from .stream.agents import FaustStream
from .thresholds_loader import load_thresholds


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock | None = None) -> FastAPI:
    config = settings or Settings()
    clock = clock or configured_clock()
    schedule = configured_schedule()
    thresholds = load_thresholds(config.thresholds)
    metrics = Metrics()

    def stream(db: Engine, relay: OutboxRelay) -> FaustStream:
        answers = privacy.responder(config.source_uri, schedule)
        return FaustStream(config, db, relay, metrics, clock, thresholds, privacy=answers)

    def started(app: FastAPI, parts: service.Plumbing) -> Mapping[str, Coroutine[Any, Any, Any]]:
        if config.role != "worker":
            metrics.add_collector(kpi_collector(parts.engine, clock))
        app.state.runtime = Runtime(config, parts.engine, thresholds, clock)
        return {}

    lifespan = service.lifespan(config, metrics, database_url=config.database_url, client_id="outcomes",
                                outbox=OutboxEvent, routes=Routes, migrate=migrate, keyring=keyring(),
                                implied=IMPLIED, clock=clock, publisher=publisher, engine=engine, started=started,
                                consumer=stream, schedule=schedule, purges=retention.purges)
    app = service_app("Front Door outcomes service", "Families found in data, sustained outcomes and the "
                      "partnership's KPIs.", __version__, lifespan, config)
    app.include_router(router)
    PAGES.install(app, config)
    app.include_router(page_router)
    return app
