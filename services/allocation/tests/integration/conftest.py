"""A real database for the store tests: SQLite file and PostgreSQL (the
`database_url` fixture of the frontdoor-stack pytest plugin); `pg_engine`,
PostgreSQL alone, for the races of several workers (SQLite has one writer)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from allocation_race_kit import fresh_postgres
from sqlalchemy.engine import Engine

from allocation.migrations import migrate
from frontdoor_platform.database import build_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def pg_url(postgres_server: Any) -> str:
    url = fresh_postgres(postgres_server)
    built = build_engine(url)
    migrate(built)
    built.dispose()
    return url


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    built = build_engine(pg_url)
    yield built
    built.dispose()
