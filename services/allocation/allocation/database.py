"""Schema creation, run by the lifespan or the CLI. Engines are built the
platform's way (`frontdoor_platform.database.build_engine`)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from frontdoor_platform.database import build_engine

from .models import AllocationTable

__all__ = ["build_engine", "create_schema"]


def create_schema(engine: Engine) -> None:
    AllocationTable.metadata.create_all(engine)
