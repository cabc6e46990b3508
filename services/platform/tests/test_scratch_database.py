"""A database built again from the start if anything stops (a rebuild's,
`build_engine(..., durable=False)`) syncs at checkpoints and checkpoints
less often; every other database syncs each commit."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from frontdoor_platform.database import SCRATCH_CHECKPOINT_PAGES, build_engine

FULL, NORMAL = 2, 1  # PRAGMA synchronous's answers


def pragmas(url: str, **options: bool) -> tuple[int, int]:
    engine = build_engine(url, **options)
    with engine.connect() as connection:
        synchronous = connection.execute(text("PRAGMA synchronous")).scalar_one()
        checkpoint = connection.execute(text("PRAGMA wal_autocheckpoint")).scalar_one()
    engine.dispose()
    return synchronous, checkpoint


def test_a_service_database_syncs_every_commit(tmp_path: Path) -> None:
    assert pragmas(f"sqlite:///{tmp_path / 'live.db'}") == (FULL, 1000)


def test_a_scratch_database_syncs_at_checkpoints_and_checkpoints_less_often(tmp_path: Path) -> None:
    assert pragmas(f"sqlite:///{tmp_path / 'rebuilt.db'}", durable=False) == (NORMAL, SCRATCH_CHECKPOINT_PAGES)
