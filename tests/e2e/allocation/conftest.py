"""End-to-end fixtures: the allocation service against the session's broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from allocation_e2e_kit import AllocationService, start_allocation, stop_allocation


@pytest.fixture
def allocation_service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllocationService]:
    service = start_allocation(tmp_path_factory.mktemp("allocation"), kafka_bootstrap)
    yield service
    stop_allocation(service)
