"""A real database for the store tests: SQLite file and PostgreSQL (the
`database_url` fixture of the frontdoor-stack pytest plugin); PostgreSQL alone
for the tests of several workers (`postgres_engine`: SQLite has one writer)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from contacts.migrations import migrate
from frontdoor_platform.database import build_engine


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    built = build_engine(database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def postgres_engine(postgres_server: Any) -> Iterator[Engine]:
    url = postgres_server if isinstance(postgres_server, str) else postgres_server.create_database(
        "workers_" + uuid.uuid4().hex[:12])
    built = build_engine(url)
    migrate(built)
    yield built
    built.dispose()
