"""The kit's HTTP edge on the allocation API, in process: 401 before a body
is read, 413 past the body limit, hostile JSON a problem, on every operation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from api_conformance import edge_gaps
from sqlmodel import Session

from allocation.access import keyring
from allocation.app import create_app
from allocation.migrations import migrate
from allocation.settings import Settings
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)


async def test_every_operation_refuses_before_it_reads(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'allocation.db'}", run_consumer=False,
                        sla_check_seconds=3600)
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        token = keyring().create(session, "test-coordinator", {"coordinator"}, NOW)
    engine.dispose()
    app = create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)
    async with app.router.lifespan_context(app):
        assert await edge_gaps(app, token, settings.max_body_bytes) == []
