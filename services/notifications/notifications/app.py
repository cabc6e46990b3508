"""Composition root: the kit's plumbing, built in the lifespan (nothing at
import time). Tests pass their own publisher, engine and clock."""

from __future__ import annotations

from fastapi import FastAPI
from sqlalchemy.engine import Engine

from frontdoor_platform import service
from frontdoor_platform.clock import Clock, utc_now
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.lifespan import service_app

from . import __version__, intake
from .access import keyring
from .database import migrate
from .metrics import Metrics
from .models import OutboxEvent
from .settings import Settings


def create_app(settings: Settings | None = None, *, publisher: EventPublisher | None = None,
               engine: Engine | None = None, clock: Clock = utc_now) -> FastAPI:
    config = settings or Settings()
    metrics = Metrics()
    lifespan = service.lifespan(config, metrics, database_url=config.database_url, client_id="notifications",
                                outbox=OutboxEvent, routes=lambda: intake.routes(metrics), migrate=migrate,
                                keyring=keyring(), clock=clock, publisher=publisher, engine=engine)
    return service_app("Front Door notifications service", "Tells schools' key adults about domestic abuse "
                       "incidents involving their pupils before the next school day.", __version__, lifespan)
