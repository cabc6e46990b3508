"""What is erased leaves a SQLite database's files: deleted content is zeroed (secure_delete) and the
write-ahead log's old frames are truncated by `checkpoint`, even with another connection left open."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from frontdoor_platform.database import build_engine, checkpoint, for_writing

SECRET = b"Amelia-Testerton-9990000018"


@pytest.mark.parametrize("writer", [False, True], ids=["engine", "writer engine"])
def test_a_deleted_value_is_in_neither_file_after_a_checkpoint(tmp_path: Path, writer: bool) -> None:
    """Also on the writer engine the consumer holds (its transactions BEGIN IMMEDIATE: a checkpoint inside
    one is refused, "database table is locked")."""
    path = tmp_path / "kit.db"
    engine = build_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT)"))
        connection.execute(text("INSERT INTO people (name) VALUES (:name)"), {"name": SECRET.decode()})
    idle = engine.connect()  # a connection left open: SQLite then never checkpoints on close by itself
    idle.execute(text("SELECT count(*) FROM people")).all()
    idle.commit()  # open, but not inside a transaction (a pooled connection between uses)
    try:
        with engine.begin() as connection:
            connection.execute(text("DELETE FROM people"))
        wal = Path(f"{path}-wal")
        assert SECRET in wal.read_bytes() or SECRET in path.read_bytes()  # still there before the checkpoint
        checkpoint(for_writing(engine) if writer else engine)
        assert SECRET not in path.read_bytes()
        assert not wal.exists() or SECRET not in wal.read_bytes()
    finally:
        idle.close()
        engine.dispose()
