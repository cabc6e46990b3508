"""A real database for the store tests: SQLite file and PostgreSQL (the
`database_url` fixture of the frontdoor-stack pytest plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from allocation.migrations import migrate
from frontdoor_platform.database import build_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    migrate(built)
    yield built
    built.dispose()
