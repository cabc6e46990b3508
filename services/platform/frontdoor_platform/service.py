"""The wiring every service with a consumer does the same way, in one
place: build the engine (unless a test passed one), migrate it, start the
publisher, the outbox relay, the batch consumer and the retention
schedule's purges (the outbox's and the service's own); put auth, metrics
and the readiness checks on the app; run the background tasks and stop
everything in order."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from frontdoor_contracts import retention
from frontdoor_contracts.retention import Schedule

from . import logs, purge, tracing
from .apikeys import KeyRing
from .clock import Clock
from .consumer import BatchConsumer
from .database import answers, build_engine, checkpoint
from .http import Auth, in_thread
from .kafka import EventPublisher, Publisher
from .kafka_security import KafkaSecurity
from .lag import GroupWatch
from .lifespan import Background
from .metrics import KitMetrics
from .ops import Ops
from .outbox import OutboxFields, OutboxRelay
from .routes import Routes
from .settings import ServiceSettings
from .workers import read_status, report_status


class Consuming(Protocol):
    """What consumes the service's topics: the kit's BatchConsumer, or a
    service's own stream processor (outcomes runs faust agents)."""

    running: bool

    @property
    def group(self) -> str: ...

    @property
    def topics(self) -> tuple[str, ...]: ...

    async def run(self) -> None: ...


@dataclass
class Plumbing:
    settings: ServiceSettings
    engine: Engine
    metrics: KitMetrics
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: Consuming
    clock: Clock
    owns_engine: bool
    watch: GroupWatch
    schedule: Schedule | None = None  # the retention schedule in force (set by `lifespan`)


async def build(settings: ServiceSettings, *, database_url: str, client_id: str, outbox: type[OutboxFields],
                metrics: KitMetrics, routes: Callable[[], Routes], migrate: Callable[[Engine], None],
                clock: Clock, publisher: EventPublisher | None = None, engine: Engine | None = None,
                consumer: Callable[[Engine, OutboxRelay], Consuming] | None = None) -> Plumbing:
    logs.configure(settings.log_level)
    tracing.configure(client_id)
    db = engine or build_engine(database_url, settings.database_pool_size)
    await in_thread(migrate, db)
    security = KafkaSecurity.of(settings)
    broker = publisher or Publisher(settings.kafka_bootstrap, settings.publish_timeout_seconds, client_id=client_id,
                                    security=security)
    broker.start()
    relay = OutboxRelay(db, outbox, broker, metrics, settings.outbox_batch_size, clock, pipelined=True)
    consuming = consumer(db, relay) if consumer is not None else BatchConsumer(
        bootstrap=settings.kafka_bootstrap, group=settings.consumer_group, client_id=client_id, routes=routes(),
        engine=db, outbox=outbox, metrics=metrics, on_commit=relay.wake, batch_size=settings.consumer_batch_size,
        clock=clock, security=security, fetch_wait_ms=settings.consumer_fetch_wait_ms)
    watch = GroupWatch(client_id, settings.kafka_bootstrap, consuming.group, consuming.topics,
                       worker_up=lambda: _worker_alive(settings, relay, consuming), security=security)
    metrics.add_collector(watch)
    return Plumbing(settings, db, metrics, broker, relay, consuming, clock, owns_engine=engine is None, watch=watch)


def _worker_alive(settings: ServiceSettings, relay: OutboxRelay, consuming: Consuming) -> bool:
    """The worker reported lately (two processes), or this process's consumer and relay run (one)."""
    if settings.role == "api":
        return read_status() is not None
    return relay.healthy and (consuming.running or not settings.run_consumer)


def install(app: FastAPI, parts: Plumbing, keyring: KeyRing,
            implied: Mapping[str, frozenset[str]] | None = None) -> None:
    """Auth, metrics and the readiness checks (database, broker now, outbox, consumer)."""
    app.state.auth = Auth(keyring, parts.engine, parts.clock, implied or {})
    app.state.metrics = parts.metrics

    async def database() -> bool:
        return await in_thread(answers, parts.engine)

    def local() -> dict[str, bool]:
        return {"outbox": parts.relay.healthy,
                "consumer": parts.consumer.running or not parts.settings.run_consumer}

    def worker(name: str) -> bool:
        status = read_status() if parts.settings.role == "api" else local()
        return bool(status and status.get(name))

    async def relaying() -> bool:
        return worker("outbox")

    async def consuming() -> bool:
        return worker("consumer")

    app.state.ops = Ops(parts.metrics.exposed(), {"database": database, "broker": parts.publisher.ready,
                                                  "outbox": relaying, "consumer": consuming})


Purges = Callable[[Plumbing], Sequence[purge.Purge]]


def purging(parts: Plumbing, outbox: type[OutboxFields], schedule: Schedule, purges: Purges | None,
            ) -> Coroutine[Any, Any, None]:
    """The outbox's purges and the service's own on one runner (its backlog gauge on the metrics)."""
    found = (*purge.outbox_purges(outbox), *(purges(parts) if purges is not None else ()))
    return purge.install(parts.metrics, parts.engine, parts.clock, schedule, found).run()


@contextlib.asynccontextmanager
async def running(parts: Plumbing, **more: Coroutine[Any, Any, Any]) -> AsyncIterator[None]:
    """The relay, the consumer (unless turned off) and `more` named tasks,
    until the app stops; then the publisher and the engine it built."""
    background = Background()
    role = parts.settings.role
    if role == "api":
        for work in more.values():
            work.close()  # the worker process runs them
    else:
        background.start("outbox-relay", parts.relay.run())
        if parts.settings.run_consumer:
            background.start("consumer", parts.consumer.run())
        for name, work in more.items():
            background.start(name, work)
    if role != "worker" and parts.settings.run_consumer:  # lag read from the broker by the process that outlives
        background.start("group-watch", parts.watch.run())  # the worker (one process: itself)
    if role == "worker":
        background.start("worker-status", report_status(lambda: {
            "outbox": parts.relay.healthy, "consumer": parts.consumer.running or not parts.settings.run_consumer}))
    try:
        yield
    finally:
        await background.stop()
        await parts.publisher.stop()
        with contextlib.suppress(Exception):  # what was erased leaves the log even if a connection stays open
            await in_thread(checkpoint, parts.engine)
        if parts.owns_engine:
            parts.engine.dispose()


Started = Callable[[FastAPI, Plumbing], Mapping[str, Coroutine[Any, Any, Any]]]


def lifespan(settings: ServiceSettings, metrics: KitMetrics, *, database_url: str, client_id: str,
             outbox: type[OutboxFields], routes: Callable[[], Routes], migrate: Callable[[Engine], None],
             keyring: KeyRing, implied: Mapping[str, frozenset[str]] | None = None, clock: Clock,
             publisher: EventPublisher | None = None, engine: Engine | None = None,
             started: Started | None = None, consumer: Callable[[Engine, OutboxRelay], Consuming] | None = None,
             schedule: Schedule | None = None, purges: Purges | None = None,
             ) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
    """A service's whole lifespan: build, install, run; `started` puts the
    service's own runtime on the app and names any tasks of its own;
    `consumer` replaces the kit's batch consumer (outcomes: faust agents);
    `purges` are the service's own (besides the outbox's), on the retention
    `schedule` (default: the one in force, `retention.configured()`)."""

    @contextlib.asynccontextmanager
    async def run(app: FastAPI) -> AsyncIterator[None]:
        parts = await build(settings, database_url=database_url, client_id=client_id, outbox=outbox,
                            metrics=metrics, routes=routes, migrate=migrate, clock=clock, publisher=publisher,
                            engine=engine, consumer=consumer)
        parts.schedule = schedule or retention.configured()
        more = dict(started(app, parts)) if started is not None else {}
        more["retention-purges"] = purging(parts, outbox, parts.schedule, purges)
        install(app, parts, keyring, implied)
        async with running(parts, **more):
            logging.getLogger(client_id).info("service started", extra={"port": settings.port})
            yield

    return run
