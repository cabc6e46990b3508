"""The outbox relay's queries read only the rows still to publish, however
many published rows the outbox keeps: each service's migrated schema plans
the relay's three statements a batch (the next rows, the rows pending, the
rows parked) through the published-at index or the parked rows' partial
index, never by walking the whole table. The purge's index on discarded_at
matched every row's `discarded_at IS NULL` and SQLite, which has no
statistics, took it: the relay walked the whole outbox three times a batch,
slower as it grew (found by profiling the bench's contacts service)."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session
from test_purge_indexes import SERVICES, statements_sent

from frontdoor_platform.database import build_engine
from frontdoor_platform.outbox_table import count_parked, count_pending, pending

RELAY_INDEXES = ("ix_outbox_published_at", "ix_outbox_parked")


@pytest.mark.parametrize("service", SERVICES)
def test_the_relay_reads_the_unsent_rows_through_an_index_of_them(service: str, tmp_path: Path) -> None:
    migrations: Any = importlib.import_module(f"{service}.migrations")
    table: Any = importlib.import_module(f"{service}.models").OutboxEvent
    engine = build_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrations.migrate(engine)

    def relay_queries() -> None:
        with Session(engine) as session:
            pending(session, table, 500)
            count_pending(session, table)
            count_parked(session, table)

    sent = statements_sent(engine, relay_queries)
    assert len(sent) == 3
    with engine.connect() as connection:
        for statement, parameters in sent:
            plan = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]
            outer = next(line for line in plan if "outbox" in line)  # the outer table's access, first
            assert any(index in outer for index in RELAY_INDEXES), (statement, plan)
            assert not any("ix_outbox_discarded_at" in line for line in plan), (statement, plan)
