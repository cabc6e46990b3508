"""The retention purges delete by time without scanning their tables: every
statement each service's purges send (the outbox's published and discarded
rows, contacts' partner records, notifications' enrolments, the read log),
run on the schema its migrations make, is planned by SQLite through an index
on the column it filters on. Notifications' erasure is not among them: it
looks for rows not yet erased across two columns and is bounded by the
notifications kept (90 days of them)."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

from frontdoor_contracts.retention import NOTIFICATIONS, default
from frontdoor_platform.database import build_engine
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.purge import PurgeRunner, outbox_purges

SERVICES = ("contacts", "allocation", "notifications", "outcomes")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PURGED = {"contacts": {"outbox", "partner_records", "read_log"}, "allocation": {"outbox", "read_log"},
          "notifications": {"outbox", "enrolments", "read_log", "da_children_waiting"},
          "outcomes": {"outbox", "read_log"}}


def statements_sent(engine: Engine, run: Any) -> list[tuple[str, Any]]:
    sent: list[tuple[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return sent


def scans(engine: Engine, statement: str, parameters: Any) -> list[str]:
    """The plan's lines that read a whole table without an index."""
    with engine.connect() as connection:
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
    return [row[-1] for row in plan if row[-1].startswith("SCAN") and "INDEX" not in row[-1]]


@pytest.mark.parametrize("service", SERVICES)
def test_every_purge_finds_its_rows_through_an_index(service: str, tmp_path: Path) -> None:
    migrations: Any = importlib.import_module(f"{service}.migrations")
    models: Any = importlib.import_module(f"{service}.models")
    retention: Any = importlib.import_module(f"{service}.retention")
    engine = build_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrations.migrate(engine)
    with engine.begin() as connection:
        connection.execute(text("ANALYZE"))
    metrics = KitMetrics(service)
    parts: Any = SimpleNamespace(clock=lambda: NOW, metrics=metrics)
    purges = [p for p in (*outbox_purges(models.OutboxEvent), *retention.purges(parts))
              if p.data_class != NOTIFICATIONS]
    runner = PurgeRunner(engine, lambda: NOW, metrics, default(), purges)
    sent = statements_sent(engine, runner.run_once)
    sent += statements_sent(engine, lambda: [metrics.registry.get_sample_value("x")])
    tables = {name for statement, _ in sent for name in PURGED[service] if f"FROM {name}" in statement}
    assert tables == PURGED[service]  # every purged table was looked up
    for statement, parameters in sent:
        assert scans(engine, statement, parameters) == [], statement
