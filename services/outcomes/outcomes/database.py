"""Schema migrations (Alembic), run by the lifespan or the CLI. Engines are
built the platform's way (`frontdoor_platform.database.build_engine`)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from frontdoor_platform import database
from frontdoor_platform.database import build_engine

__all__ = ["build_engine", "migrate"]

MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    database.migrate(engine, MIGRATIONS)
