"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from frontdoor_platform.kafka import Publisher

from .consumer import FrontDoorConsumer
from .metrics import Metrics
from .outbox import OutboxRelay
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    metrics: Metrics
    publisher: Publisher
    relay: OutboxRelay
    consumer: FrontDoorConsumer
