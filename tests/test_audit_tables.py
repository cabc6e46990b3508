"""Each service's audit table as its migrations make it, on SQLite and
PostgreSQL: an entry is written with its event, and the table refuses
UPDATE, DELETE (and on PostgreSQL TRUNCATE): append-only."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError
from sqlmodel import Session, col, select

from frontdoor_platform.database import build_engine, for_writing

SERVICES = ("contacts", "allocation", "notifications", "outcomes")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("service", SERVICES)
def test_the_audit_table_is_append_only(service: str, database_url: str) -> None:
    database: Any = importlib.import_module(f"{service}.migrations")
    access: Any = importlib.import_module(f"{service}.access")
    engine = build_engine(database_url)
    database.migrate(engine)
    trail = access.audit_trail(f"urn:frontdoor:{service}")
    with Session(for_writing(engine)) as session:
        trail.record(session, "cli:ops", "api_client.created", "api_client:x", None, {"name": "x"}, NOW)
        session.commit()
    refused = ["UPDATE audit SET actor = 'cli:someone-else'", "DELETE FROM audit"]
    if engine.dialect.name == "postgresql":
        refused.append("TRUNCATE audit")
    for statement in refused:
        with engine.begin() as connection, pytest.raises(DatabaseError, match="append-only"):
            connection.execute(text(statement))
    with Session(engine) as session:
        assert session.exec(select(trail.table.actor)).all() == ["cli:ops"]
        events = session.exec(select(trail.outbox).where(col(trail.outbox.topic) == f"{service}.audit.v1")).all()
        assert len(events) == 1
    engine.dispose()
