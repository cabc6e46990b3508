"""Composition root: builds the engine, publisher, relay and consumer in the
lifespan (nothing at import time) and hands them to the routes. Tests pass
their own publisher, engine and clock."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from frontdoor_platform import logs
from frontdoor_platform.clock import Clock, utc_now
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import answers
from frontdoor_platform.http import Auth, Gate, in_thread
from frontdoor_platform.kafka import EventPublisher, Publisher
from frontdoor_platform.lifespan import Background, service_app
from frontdoor_platform.ops import Ops
from frontdoor_platform.outbox import OutboxRelay

from . import __version__, intake
from .access import keyring
from .api import router
from .database import build_engine, migrate
from .metrics import Metrics
from .models import OutboxEvent
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger("contacts")


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock = utc_now) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        logs.configure(config.log_level)
        db = engine or build_engine(config.database_url, config.database_pool_size)
        await in_thread(migrate, db)
        metrics = Metrics()
        broker = publisher or Publisher(config.kafka_bootstrap, config.publish_timeout_seconds, client_id="contacts")
        broker.start()
        relay = OutboxRelay(db, OutboxEvent, broker, metrics, config.outbox_batch_size, clock)
        consumer = BatchConsumer(bootstrap=config.kafka_bootstrap, group=config.consumer_group, client_id="contacts",
                                 routes=intake.routes(config, metrics), engine=db, outbox=OutboxEvent,
                                 metrics=metrics, on_commit=relay.wake, batch_size=config.consumer_batch_size,
                                 clock=clock)
        app.state.runtime = Runtime(config, db, metrics, broker, relay, consumer,
                                    Gate(config.max_requests_in_flight), clock)
        app.state.auth = Auth(keyring(), db, clock)
        app.state.metrics = metrics

        async def consuming() -> bool:
            return consumer.running or not config.run_consumer

        async def relaying() -> bool:
            return relay.healthy

        async def database() -> bool:
            return await in_thread(answers, db)

        app.state.ops = Ops(metrics.registry, {"database": database, "broker": broker.ready, "outbox": relaying,
                                               "consumer": consuming})
        background = Background()
        background.start("outbox-relay", relay.run())
        if config.run_consumer:
            background.start("consumer", consumer.run())
        log.info("contacts service started", extra={"port": config.port})
        try:
            yield
        finally:
            await background.stop()
            await broker.stop()
            if engine is None:
                db.dispose()

    app = service_app("Front Door contacts service", "Front-door intake, MASH decisions, people matching, "
                      "re-referrals, DA incidents.", __version__, lifespan)
    app.include_router(router)
    return app

