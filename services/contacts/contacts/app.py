"""Composition root: builds the engine, publisher, relay and consumer in the
lifespan (nothing at import time) and hands them to the routes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from frontdoor_contracts.errors import field_path, safe_message
from frontdoor_platform import logs
from frontdoor_platform.kafka import Publisher

from .api import router
from .consumer import FrontDoorConsumer
from .database import build_engine, migrate
from .metrics import Metrics
from .outbox import OutboxRelay
from .runtime import Runtime
from .settings import Settings

log = logging.getLogger("contacts")


def _report_crash(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task stopped", extra={"task": task.get_name(),
                                                     "error": type(task.exception()).__name__})


def create_app(settings: Settings | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        config = settings or Settings()
        logs.configure(config.log_level)
        engine = build_engine(config.database_url)
        migrate(engine)
        metrics = Metrics()
        publisher = Publisher(config.kafka_bootstrap, config.publish_timeout_seconds, client_id="contacts")
        publisher.start()
        relay = OutboxRelay(engine, publisher, metrics, config.consumer_batch_size)
        consumer = FrontDoorConsumer(config, engine, publisher, relay, metrics)
        app.state.runtime = Runtime(config, engine, metrics, publisher, relay, consumer)
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        if config.run_consumer:
            tasks.append(asyncio.create_task(consumer.run(), name="consumer"))
        for task in tasks:
            task.add_done_callback(_report_crash)
        log.info("contacts service started", extra={"port": config.port})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await publisher.stop()
            engine.dispose()

    app = FastAPI(title="Front Door contacts service", version="1.0.0", lifespan=lifespan,
                  description="Front-door intake, MASH decisions, people matching, re-referrals, DA incidents.")
    app.include_router(router)
    app.add_exception_handler(RequestValidationError, _safe_validation_error)
    return app


async def _safe_validation_error(request: Request, exc: Exception) -> JSONResponse:
    """FastAPI's default 422 echoes the input; ours names the field only."""
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": field_path(tuple(e["loc"])), "reason": str(e["type"]), "message": safe_message(e)}
        for e in exc.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": errors})
