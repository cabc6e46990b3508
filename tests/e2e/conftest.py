"""Fixtures every end-to-end test shares: a plain Kafka client on the
session's real broker."""

from __future__ import annotations

import pytest
from contacts_e2e_kit import Kafka


@pytest.fixture(scope="session")
def kafka(kafka_bootstrap: str) -> Kafka:
    return Kafka(kafka_bootstrap)
