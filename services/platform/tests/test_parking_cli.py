"""`outbox parked | resend | discard`, run as an operator would, on a real
database (SQLite and PostgreSQL), and present in every service's CLI."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import Session, select

from frontdoor_platform.database import build_engine
from frontdoor_platform.outbox import add_record, park

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def run(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ALLOCATION_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "allocation.main", "outbox", *args], env=env, capture_output=True,
                          text=True, timeout=60)


def test_list_resend_and_discard_parked_rows(database_url: str) -> None:
    from allocation.migrations import migrate
    from allocation.models import OutboxEvent

    engine = build_engine(database_url)
    migrate(engine)
    with Session(engine) as session:
        for i, key in enumerate(["fam-1", "fam-1", "fam-2", "fam-3"]):
            add_record(session, OutboxEvent, "allocation.case-opened.v1", key, b"{}" * (i + 1), f"ev-{i}", NOW)
        session.commit()
        ids = [r.id for r in session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all()]  # type: ignore[arg-type]
        park(session, OutboxEvent, {ids[0]: "record_too_large", ids[2]: "refused:PolicyViolationError",
                                    ids[3]: "unknown_topic"}, NOW)
        session.commit()
    listed = run(database_url, "parked")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.splitlines() == [
        "id\tevent_id\ttopic\tkey\tpayload_bytes\treason\tparked_at\twaiting_behind",
        f"{ids[0]}\tev-0\tallocation.case-opened.v1\tfam-1\t2\trecord_too_large\t{NOW.isoformat()}\t1",
        f"{ids[2]}\tev-2\tallocation.case-opened.v1\tfam-2\t6\trefused:PolicyViolationError\t{NOW.isoformat()}\t0",
        f"{ids[3]}\tev-3\tallocation.case-opened.v1\tfam-3\t8\tunknown_topic\t{NOW.isoformat()}\t0"]
    refused = run(database_url, "resend", str(ids[0]), str(ids[1]))  # ids[1] waits, it is not parked
    assert refused.returncode == 2 and f"not parked: {ids[1]} (nothing changed)" in refused.stderr
    assert run(database_url, "discard").returncode == 2  # ids or --all, never nothing
    resent = run(database_url, "resend", str(ids[0]))
    assert resent.stdout.strip() == f"re-sent 1 parked row ({ids[0]}): the relay publishes them next"
    discarded = run(database_url, "discard", "--all")
    assert discarded.stdout.strip() == f"discarded 2 parked rows ({ids[2]}, {ids[3]}): kept, never published"
    assert run(database_url, "parked").stdout.splitlines()[1:] == []
    assert run(database_url, "resend", "--all").stdout.strip() == "no parked rows"
    with Session(engine) as session:
        rows = {r.event_id: r for r in session.exec(select(OutboxEvent)).all()}
    assert rows["ev-0"].parked_at is None and rows["ev-0"].park_reason is None  # the relay tries it again
    assert all(rows[e].discarded_at is not None and rows[e].park_reason for e in ("ev-2", "ev-3"))  # kept
    assert rows["ev-1"].parked_at is None and rows["ev-1"].discarded_at is None
    engine.dispose()


@pytest.mark.parametrize("service", ["contacts", "allocation", "notifications", "outcomes"])
def test_every_service_has_the_outbox_commands(service: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv(f"{service.upper()}_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite'}")
    main = importlib.import_module(f"{service}.main").main
    assert main(["outbox", "parked"]) == 0
    assert capsys.readouterr().out.startswith("id\tevent_id\ttopic")
    assert main(["outbox", "discard", "--all"]) == 0
    assert capsys.readouterr().out.strip() == "no parked rows"
