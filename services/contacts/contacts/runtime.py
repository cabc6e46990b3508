"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from frontdoor_platform.clock import Clock
from frontdoor_platform.http import Gate
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.outbox import OutboxRelay
from frontdoor_platform.service import Consuming

from .metrics import Metrics
from .person_keys import Sealing
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    metrics: Metrics
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: Consuming
    gate: Gate
    clock: Clock
    sealing: Sealing
