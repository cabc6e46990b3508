"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from frontdoor_platform.kafka import Publisher

from .consumer import TriggerConsumer
from .domain.meetings import MeetingSchedule
from .handlers import Rules
from .metrics import Metrics
from .outbox import OutboxRelay
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    rules: Rules
    meeting: MeetingSchedule
    metrics: Metrics
    publisher: Publisher
    relay: OutboxRelay
    consumer: TriggerConsumer
    clock: Callable[[], datetime]
