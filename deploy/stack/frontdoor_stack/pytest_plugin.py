"""pytest fixtures every test directory gets (registered as a pytest11
entry point of frontdoor-stack):

- `kafka_bootstrap` (session): "127.0.0.1:PORT" of a real Kafka broker with
  every declared topic. Started on free ports in a temporary directory (jars
  cached in <repo>/.cache/kafka) and stopped at the end of the session; or,
  when FRONTDOOR_TEST_KAFKA_BOOTSTRAP is set, that external broker (topics
  ensured, nothing started or stopped).
- `kafka_broker` (session): the KafkaBroker behind it (None when external).
- `database_url` (parametrised: sqlite, postgresql): the URL of a fresh
  database, SQLite in the test's folder or a new database on a throwaway
  PostgreSQL server from Debian's packages (started once per session), or
  on FRONTDOOR_TEST_POSTGRES_URL's server when that is set.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from .kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from .postgres import PostgresServer
from .topics import ensure_topics

EXTERNAL_BOOTSTRAP_ENV = "FRONTDOOR_TEST_KAFKA_BOOTSTRAP"


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker | None]:
    if os.environ.get(EXTERNAL_BOOTSTRAP_ENV):
        yield None
        return
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka"), port=free_port(), controller_port=free_port())
    with broker:
        yield broker


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker | None) -> str:
    bootstrap = os.environ.get(EXTERNAL_BOOTSTRAP_ENV) or (kafka_broker.bootstrap if kafka_broker else "")
    run_coroutine_in_thread(ensure_topics(bootstrap))
    return bootstrap


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer | str]:
    external = os.environ.get("FRONTDOOR_TEST_POSTGRES_URL")
    if external:
        yield external
        return
    with PostgresServer(free_port()) as server:
        yield server


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.db'}"
    server = request.getfixturevalue("postgres_server")
    name = "test_" + uuid.uuid4().hex[:12]
    return server if isinstance(server, str) else server.create_database(name)
