"""How long the broker may hold a consumer's fetch is a setting, 50 ms in
every service on the kit's consumer: a record on one partition must not
wait behind a fetch held for the others (the DA alerts' path; allocation
behind the simulated year's player). An operator may set more (the kit's
consumer asks the broker with it: services/platform/tests/test_fetch_wait.py)."""

from __future__ import annotations

import importlib
from typing import Any

import pytest

# The services on the kit's consumer (outcomes consumes through faust, with its own fetch settings).
DA_PATH = {"contacts": 50, "notifications": 50, "allocation": 50}


@pytest.mark.parametrize("service", sorted(DA_PATH))
def test_each_service_waits_as_long_as_its_place_on_the_da_path_allows(service: str,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(f"{service.upper()}_CONSUMER_FETCH_WAIT_MS", raising=False)
    settings: Any = importlib.import_module(f"{service}.settings").Settings
    assert settings().consumer_fetch_wait_ms == DA_PATH[service]


def test_the_wait_can_be_set_and_nonsense_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    settings: Any = importlib.import_module("allocation.settings").Settings
    monkeypatch.setenv("ALLOCATION_CONSUMER_FETCH_WAIT_MS", "500")
    assert settings().consumer_fetch_wait_ms == 500
    monkeypatch.setenv("ALLOCATION_CONSUMER_FETCH_WAIT_MS", "0")
    with pytest.raises(ValueError, match="consumer_fetch_wait_ms"):
        settings()
