"""Schema migrations (Alembic), run by the lifespan or the CLI. Engines are
built the platform's way (`frontdoor_platform.database.build_engine`)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from frontdoor_platform.database import build_engine

__all__ = ["build_engine", "migrate"]


MIGRATIONS = Path(__file__).parent / "migrations"


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
