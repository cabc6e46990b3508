"""Data at rest is its owner's alone (frontdoor_platform.private_files), under
the common umask 022 that would leave it readable by anyone: the SQLite
files the kit's `build_engine` makes are 0600 from the start (with SQLite's
-wal and -shm beside them) in folders made 0700; an existing database left
open by an earlier run is tightened; a shared parent folder is left alone."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from frontdoor_platform.database import build_engine
from frontdoor_platform.private_files import private_directory, private_file


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_sqlite_database_is_0600_in_folders_made_0700(tmp_path: Path) -> None:
    os.chmod(tmp_path, 0o755)  # a parent that was there already, open to all
    database = tmp_path / "data" / "run" / "service.db"
    engine = build_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
        connection.execute(text("INSERT INTO t VALUES ('a')"))
    try:
        assert mode(tmp_path / "data") == mode(tmp_path / "data" / "run") == 0o700
        assert mode(database) == 0o600
        companions = [database.with_name(database.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in companions)  # WAL mode: SQLite made them, with the database's mode
        assert [mode(p) for p in companions] == [0o600, 0o600]
        assert mode(tmp_path) == 0o755  # not ours alone: left as it was
    finally:
        engine.dispose()


def test_an_existing_database_left_open_is_tightened(tmp_path: Path) -> None:
    database = tmp_path / "service.db"
    engine = build_engine(f"sqlite:///{database}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x TEXT)"))
    engine.dispose()
    wal = database.with_name(database.name + "-wal")
    wal.touch()
    for path in (database, wal):
        os.chmod(path, 0o644)
    build_engine(f"sqlite:///{database}").dispose()
    assert mode(database) == mode(wal) == 0o600


def test_a_private_directory_is_made_0700_and_tightened_only_when_asked(tmp_path: Path) -> None:
    made = private_directory(tmp_path / "a" / "b")
    assert mode(tmp_path / "a") == mode(made) == 0o700
    existing = tmp_path / "existing"
    existing.mkdir(mode=0o755)
    private_directory(existing)
    assert mode(existing) == 0o755
    private_directory(existing, tighten=True)
    assert mode(existing) == 0o700


def test_a_private_file_is_created_empty_0600_and_keeps_what_it_holds(tmp_path: Path) -> None:
    fresh = private_file(tmp_path / "fresh")
    assert mode(fresh) == 0o600 and fresh.read_bytes() == b""
    kept = tmp_path / "kept"
    kept.write_bytes(b"records")
    os.chmod(kept, 0o664)
    private_file(kept)
    assert mode(kept) == 0o600 and kept.read_bytes() == b"records"
