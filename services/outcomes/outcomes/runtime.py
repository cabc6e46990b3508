"""What the running service is made of, built once by the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Engine

from frontdoor_platform.clock import Clock

from .domain.thresholds import Thresholds
from .settings import Settings


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    thresholds: Thresholds
    clock: Clock
