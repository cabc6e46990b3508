"""End-to-end fixtures: the outcomes service against the session's broker."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from outcomes_e2e_kit import OutcomesService, start_outcomes, stop_outcomes


@pytest.fixture
def outcomes_service(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OutcomesService]:
    service = start_outcomes(tmp_path_factory.mktemp("outcomes"), kafka_bootstrap, review_seconds=2.0)
    yield service
    stop_outcomes(service)
