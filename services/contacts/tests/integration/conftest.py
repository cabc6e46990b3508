"""A real database for the store tests: SQLite file and PostgreSQL (a
throwaway server from Debian's packages, started once per session)."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from contacts.database import build_engine, migrate
from frontdoor_stack.postgres import PostgresServer


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | str]:
    external = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    with PostgresServer(_free_port()) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'contacts.db'}"
    else:
        server = request.getfixturevalue("postgres")
        url = server if isinstance(server, str) else server.create_database("contacts_" + uuid.uuid4().hex[:12])
    built = build_engine(url)
    migrate(built)
    yield built
    built.dispose()
