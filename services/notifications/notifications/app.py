"""Composition root: the kit's plumbing, built in the lifespan (nothing at
import time), plus this service's runtime: the rules (the authority's
calendar), the delivery queue and the timers. Tests pass their own
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
from frontdoor_platform.routes import Routes

from . import __version__, retention, subscriptions, timers
from .access import keyring
from .api import router
from .delivery.loop import DeliveryLoop
from .delivery.pending import PendingByAge
from .handlers import Rules
from .keys import PersonKeys
from .metrics import Metrics
from .migrations import migrate
from .models import OutboxEvent
from .page import routes as page
from .runtime import Runtime
from .settings import SERVICE, Settings
from .term_dates import load_calendar


def rules_from(settings: Settings) -> Rules:
    """The rules, with the people's keys under this service's wrapping key and the previous one (ValueError
    naming NOTIFICATIONS_WRAPPING_KEY[_PREVIOUS] when it is wrong, or unset in production)."""
    _, calendar = load_calendar(settings.term_dates)
    return Rules(source_uri=settings.source_uri, calendar=calendar, early_help_manager=settings.early_help_manager,
                 keys=PersonKeys(settings.own_wrapping_key(SERVICE), settings.previous_wrapping_key()))


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock | None = None) -> FastAPI:
    config = settings or Settings()
    clock = clock or configured_clock()
    schedule = configured_schedule()
    retention.check_settings(config, schedule)
    rules = rules_from(config)
    metrics = Metrics()
    wakers: list[Runtime] = []

    def created() -> None:
        for rt in wakers:
            rt.wake_delivery()

    def started(app: FastAPI, parts: service.Plumbing) -> Mapping[str, Coroutine[Any, Any, Any]]:
        rt = Runtime(config, parts.engine, rules, metrics, parts.relay, clock)
        delivery = DeliveryLoop(parts.engine, OutboxEvent, config, metrics, clock, parts.relay.wake)
        rt.wake_delivery = delivery.wake
        PendingByAge.install(metrics, parts.engine, clock)
        wakers.append(rt)
        app.state.runtime = rt
        return {"notification-timers": timers.run(rt), "delivery": delivery.run()}

    def routes() -> Routes:
        return subscriptions.routes(rules, metrics, created, schedule)

    lifespan = service.lifespan(config, metrics, database_url=config.database_url, client_id="notifications",
                                outbox=OutboxEvent, routes=routes,
                                migrate=migrate, keyring=keyring(), clock=clock, publisher=publisher, engine=engine,
                                started=started, schedule=schedule, purges=retention.purges)
    app = service_app("Front Door notifications service", "Tells schools' key adults about domestic abuse "
                      "incidents involving their pupils before the next school day.", __version__, lifespan, config)
    app.include_router(router)
    page.install(app, config)
    return app
