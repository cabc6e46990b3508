"""Cross-service tests. The Kafka fixtures come from frontdoor-stack's
pytest plugin (frontdoor_stack/pytest_plugin.py, loaded automatically in
every test directory once `make venv` installed deploy/stack):

- `kafka_bootstrap` (session): "127.0.0.1:PORT" of a real KRaft broker on
  free ports in a temporary directory, with every declared topic, stopped
  at the end of the session. Set FRONTDOOR_TEST_KAFKA_BOOTSTRAP=host:port
  to use an already running broker instead.
- `kafka_broker` (session): the KafkaBroker behind it (None when external).
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
