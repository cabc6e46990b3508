"""`frontdoor-outcomes rebuild --into` refuses the live database however
its URL is spelt: it empties what it is given."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from outcomes.main import same_database


def test_the_live_file_spelt_another_way_is_the_live_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".data").mkdir()
    live = "sqlite:///.data/outcomes.db"
    assert same_database(live, live)
    assert same_database(f"sqlite:///{tmp_path}/.data/outcomes.db", live)
    assert same_database("sqlite:///./.data/../.data/outcomes.db", live)
    os.symlink(tmp_path / ".data", tmp_path / "link")
    assert same_database("sqlite:///link/outcomes.db", live)


def test_another_file_or_server_database_is_not_the_live_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert not same_database("sqlite:///.data/outcomes-rebuilt.db", "sqlite:///.data/outcomes.db")
    assert not same_database("sqlite:///.data/outcomes.db", "postgresql://app@db/outcomes")
    assert not same_database("postgresql://app@db/rebuilt", "postgresql://app@db/outcomes")
    assert same_database("postgresql://app:one@db/outcomes", "postgresql://app:two@db/outcomes")
