"""Shared fixtures for the contract tests: the stored example events."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

CONTRACTS_DIR = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = CONTRACTS_DIR / "examples"


@pytest.fixture
def example() -> Callable[[str], dict[str, Any]]:
    """A fresh, mutable copy of the stored example for an event type."""

    def load(event_type: str) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((EXAMPLES_DIR / f"{event_type}.json").read_text(encoding="utf-8"))
        return copy.deepcopy(document)

    return load
