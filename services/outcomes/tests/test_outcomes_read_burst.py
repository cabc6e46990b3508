"""A burst of 64 concurrent reads of one family (the real app on a real
SQLite file), every one of which must be written to the read log before it
is answered: each gets an answer, 200 with the family (its read logged) or
503 problem+json with Retry-After (nothing shown, nothing logged), never a
500 and never a hang: when the log is free, when another writer holds
SQLite's lock until they queue, and when it holds it past the log's wait."""

from __future__ import annotations

import sqlite3
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import read_rows
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from outcomes.access import keyring
from outcomes.app import create_app
from outcomes.domain.view import FamilyView
from outcomes.migrations import migrate
from outcomes.models import FamilyViewRow
from outcomes.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FAMILY = uuid.uuid4()
READS = 64
QUEUED = 16  # reads waiting for the log behind the lock before it is let go
WAIT_BOUND = 120  # seconds: a bound that turns a hang into a failure, not a measure of speed


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", run_consumer=False)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    view = FamilyView(family_id=FAMILY, as_of=date(2026, 3, 1), children=2, adults=1, problems=[],
                      identified_on=[], cases=[], plans=[], events=[])
    with Session(for_writing(built)) as session:
        session.add(FamilyViewRow(family_id=FAMILY, document=view.model_dump_json(), updated_at=NOW))
        session.commit()
    yield built
    built.dispose()


@pytest.fixture
def manager(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"Authorization": f"Bearer {keyring().create(session, 'test-manager', {'manager'}, NOW)}"}


@pytest.fixture
def api(settings: Settings, manager: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW),
                    raise_server_exceptions=False) as client:
        yield client


def answered(responses: list[object], engine: Engine) -> list[int]:
    """Each answer's status, checking each is 200 with the family or a 503 problem with Retry-After; the log
    holds one read of the family per 200."""
    statuses = []
    for response in responses:
        status = response.status_code  # type: ignore[attr-defined]
        if status == 200:
            assert response.json()["family_id"] == str(FAMILY)  # type: ignore[attr-defined]
        else:
            assert status == 503 and response.headers.get("retry-after")  # type: ignore[attr-defined]
            assert response.headers["content-type"] == "application/problem+json"  # type: ignore[attr-defined]
            assert str(FAMILY) not in response.text  # type: ignore[attr-defined]
        statuses.append(status)
    logged = [row for row in read_rows(engine) if row["record"] == f"family:{FAMILY}"]
    assert len(logged) == statuses.count(200)
    return statuses


def test_64_concurrent_reads_of_one_family_are_each_answered_and_logged(api: TestClient, manager: dict[str, str],
                                                                        engine: Engine) -> None:
    with ThreadPoolExecutor(READS) as pool:
        futures = [pool.submit(api.get, f"/v1/families/{FAMILY}", headers=manager) for _ in range(READS)]
        responses = [future.result(timeout=WAIT_BOUND) for future in futures]
    statuses = answered(responses, engine)
    assert statuses.count(200) == READS  # the log free: every read is written, none refused


def held_burst(api: TestClient, manager: dict[str, str], engine: Engine,
               until_queued: int | None) -> tuple[list[object], int, int]:
    """READS reads while another connection holds SQLite's write lock, let go once `until_queued` of them wait
    for the log (None: not before the first answer comes back). Returns the answers, the most reads seen
    waiting, and the log's inserts."""
    log_writes: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: log_writes.append(a[2]))
    holder = sqlite3.connect(str(engine.url.database), isolation_level=None, timeout=30)
    holder.execute("BEGIN IMMEDIATE")
    queued = 0
    try:
        with ThreadPoolExecutor(READS) as pool:
            futures = [pool.submit(api.get, f"/v1/families/{FAMILY}", headers=manager) for _ in range(READS)]
            deadline = time.monotonic() + WAIT_BOUND
            while (until_queued is None or queued < until_queued) and time.monotonic() < deadline \
                    and not any(f.done() for f in futures):
                log = getattr(api.app.state, "read_log", None)
                queued = max(queued, log.waiting if log is not None else 0)
                time.sleep(0.01)
            holder.execute("ROLLBACK")
            responses = [future.result(timeout=WAIT_BOUND) for future in futures]
    finally:
        holder.close()
    inserts = [s for s in log_writes if s.lstrip().upper().startswith("INSERT INTO READ_LOG ")]
    return responses, queued, len(inserts)


def test_64_reads_queued_behind_another_writer_are_each_answered(api: TestClient, manager: dict[str, str],
                                                                 engine: Engine) -> None:
    """The lock let go once QUEUED reads wait (a plain route holds one of anyio's 40 worker threads while it
    waits, so at most 39 can; the rest wait for a thread, and are answered after)."""
    responses, queued, inserts = held_burst(api, manager, engine, QUEUED)
    assert queued > 1  # they queued behind the lock (on a slow machine the first write may time out first: 503s)
    statuses = answered(responses, engine)
    assert len(statuses) == READS, sorted(statuses)
    assert inserts < READS // 4  # queued reads share transactions


def test_64_reads_behind_a_lock_held_past_the_wait_are_answered_503_with_retry_after(
        api: TestClient, manager: dict[str, str], engine: Engine) -> None:
    """The lock held until the first answer: the log's write gives up at SQLite's busy timeout (30 s), and
    the reads waiting on it are answered 503 with Retry-After, nothing shown; the rest are answered after."""
    responses, queued, _ = held_burst(api, manager, engine, None)
    statuses = answered(responses, engine)
    assert len(statuses) == READS and queued > 1
    assert statuses.count(503) >= 1, sorted(statuses)
