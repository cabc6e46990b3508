"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.engine import Engine

from frontdoor_platform.clock import Clock
from frontdoor_platform.kafka import EventPublisher
from frontdoor_platform.outbox import OutboxRelay

from .domain.meetings import MeetingSchedule
from .handlers import Rules
from .settings import Settings

if TYPE_CHECKING:  # the kit's service module loads prometheus_client, which `serve` must set up first
    from frontdoor_platform.service import Consuming

    from .metrics import Metrics


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    rules: Rules
    meeting: MeetingSchedule
    metrics: Metrics
    publisher: EventPublisher
    relay: OutboxRelay
    consumer: Consuming
    clock: Clock
