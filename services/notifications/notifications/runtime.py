"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.engine import Engine

from frontdoor_platform.clock import Clock
from frontdoor_platform.outbox import OutboxRelay

from .handlers import Rules
from .metrics import Metrics
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    rules: Rules
    metrics: Metrics
    relay: OutboxRelay
    clock: Clock
    wake_delivery: Callable[[], None] = field(default=lambda: None)
