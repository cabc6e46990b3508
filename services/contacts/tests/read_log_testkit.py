"""The read log as each service's tests look at it (unique module name:
importable from any test): its rows, personal values found in them, and a
burst of reads through the real app whose commits are counted."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.engine import Engine

COLUMNS = ("read_id", "at", "reader", "route", "record")


def read_rows(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(
            text(f"SELECT {', '.join(COLUMNS)} FROM read_log ORDER BY id"))]


def personal_in(rows: Iterable[dict[str, Any]], values: Iterable[str]) -> list[str]:
    """Which of `values` (names, dates of birth, identifiers) any row holds, in any column."""
    held = " ".join(str(v) for row in rows for v in row.values()).lower()
    return sorted({v for v in values if v and v.lower() in held})


def drop_the_log(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE read_log"))


def burst(api: TestClient, requests: list[tuple[str, dict[str, str]]]) -> tuple[int, list[int]]:
    """Send `requests` (GET path, headers) at once while another connection holds SQLite's write lock, so
    the reads queue for the log behind the first one's write; let go once all wait. Returns how many
    transactions wrote the log (its inserts: the log writes one per transaction; other commits, the outbox
    relay's, are not counted) and the answers' statuses."""
    app: Any = api.app
    engine: Engine = app.state.auth.engine
    commits: list[int] = []

    def count(_connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO READ_LOG "):
            commits.append(1)

    event.listen(engine, "before_cursor_execute", count)
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ThreadPoolExecutor(len(requests)) as pool:
            answers = [pool.submit(api.get, path, headers=headers) for path, headers in requests]
            deadline = time.monotonic() + 20  # a bound on the wait, not an assertion on time
            while time.monotonic() < deadline and not any(a.done() for a in answers):
                log = getattr(app.state, "read_log", None)
                if log is not None and log.waiting >= len(requests) - 1:
                    break
                time.sleep(0.01)
            holder.execute("ROLLBACK")
            statuses = [a.result().status_code for a in answers]
    finally:
        holder.close()
        event.remove(engine, "before_cursor_execute", count)
    return len(commits), statuses
