"""Fixtures of the kit's tests: a real SQLite database with the tiny service's tables."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from frontdoor_platform.database import build_engine

sys.path.insert(0, str(Path(__file__).parent))
from kit_tables import KitTable


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'kit.db'}")
    KitTable.metadata.create_all(built)
    yield built
    built.dispose()
