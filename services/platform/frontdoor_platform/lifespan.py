"""Start-up and shutdown the same way in every service: background tasks
started by name, a crash reported loudly, everything cancelled and awaited
on the way out, then the publisher stopped and the engine disposed."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from fastapi import FastAPI
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

from . import edge, problems
from .ops import ops_router
from .requests import RequestMetrics
from .settings import ServiceSettings

log = logging.getLogger("frontdoor.lifespan")


class Background:
    def __init__(self) -> None:
        self.tasks: list[asyncio.Task[Any]] = []

    def start(self, name: str, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.create_task(work, name=name)
        task.add_done_callback(_report_crash)
        self.tasks.append(task)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks.clear()


def _report_crash(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("background task stopped", extra={"task": task.get_name(),
                                                     "error": type(task.exception()).__name__})


def service_app(title: str, description: str, version: str, lifespan: Any, settings: ServiceSettings) -> FastAPI:
    """A FastAPI app with the kit's ops routes, problem+json errors, the
    edge (401, 413 and hostile JSON refused before a route reads a body),
    request metrics and access logs, and a span per request."""
    app = FastAPI(title=title, description=description, version=version, lifespan=lifespan)
    problems.install(app)
    edge.install(app, settings.max_body_bytes)
    app.add_middleware(RequestMetrics)
    app.include_router(ops_router())
    # A span per request (a child of the caller's traceparent header), outermost, so the edge's refusals,
    # the access log line and the events a route publishes are in it. The ops routes are not traced.
    FastAPIInstrumentor.instrument_app(app, excluded_urls="/healthz,/readyz,/metrics",
                                       exclude_spans=["receive", "send"])
    return app
