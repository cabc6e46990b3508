"""Who read what, in the allocation service (the real app on a real SQLite
file): the agenda, the board and a case are in the read log (the key, the
cases and families by id, the route's template; nothing else) before they
are answered; the admin lists one case's reads; a burst of reads costs a
couple of commits; a log that cannot be written is a 503, never the data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import burst, drop_the_log, personal_in, read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from allocation import handlers
from allocation.access import keyring
from allocation.app import create_app, rules_from
from allocation.domain.triggers import Trigger
from allocation.migrations import migrate
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import build_engine, for_writing

NOW = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
FAMILY, CHILD = uuid.uuid4(), uuid.uuid4()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'allocation.db'}", kafka_bootstrap="127.0.0.1:1",
                    run_consumer=False, sla_check_seconds=3600, publish_timeout_seconds=1)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {role: keyring().create(session, f"test-{role}", {role}, NOW) for role in ("read", "admin")}


@pytest.fixture
def case(engine: Engine, settings: Settings) -> uuid.UUID:
    trigger = Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:test", event_id=str(uuid.uuid4()),
                      family_id=FAMILY, occurred_at=NOW - timedelta(days=2), child_ids=(CHILD,))
    with Session(for_writing(engine)) as session:
        _, opened = handlers.on_trigger(session, trigger, rules_from(settings), NOW - timedelta(days=2))
        session.commit()
    return opened.case_id


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, clock=lambda: NOW)) as client:
        yield client


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def test_each_read_of_a_case_is_logged_with_who_what_and_the_route(
        api: TestClient, keys: dict[str, str], engine: Engine, case: uuid.UUID) -> None:
    for path in ("/v1/agenda", "/v1/cases", f"/v1/cases/{case}", "/v1/agencies/leads"):
        assert api.get(path, headers=auth(keys, "read")).status_code == 200, path
    rows = read_rows(engine)
    assert [(r["route"], r["record"]) for r in rows] == [
        (route, record) for route in ("GET /v1/agenda", "GET /v1/cases", "GET /v1/cases/{case_id}")
        for record in (f"case:{case}", f"family:{FAMILY}")]  # the counts of lead agencies: no one's data
    assert {r["reader"] for r in rows} == {"client:test-read"} and len({r["read_id"] for r in rows}) == 3
    assert personal_in(rows, [str(CHILD), "staff-", "Bearer"]) == []


def test_the_admin_lists_a_cases_reads_and_no_one_else_may(api: TestClient, keys: dict[str, str],
                                                            case: uuid.UUID) -> None:
    assert api.get(f"/v1/cases/{case}", headers=auth(keys, "read")).status_code == 200
    listed = api.get("/v1/reads", params={"record": f"family:{FAMILY}"}, headers=auth(keys, "admin"))
    assert listed.status_code == 200
    assert [(r["reader"], r["route"]) for r in listed.json()["reads"]] == [("client:test-read",
                                                                            "GET /v1/cases/{case_id}")]
    refused = api.get("/v1/reads", params={"record": f"case:{case}"}, headers=auth(keys, "read"))
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_a_burst_of_reads_costs_far_fewer_commits_than_reads(api: TestClient, keys: dict[str, str], engine: Engine,
                                                             case: uuid.UUID) -> None:
    commits, statuses = burst(api, [(f"/v1/cases/{case}", auth(keys, "read"))] * 24)
    assert statuses == [200] * 24 and commits <= 3  # one each would be 24
    assert len({r["read_id"] for r in read_rows(engine)}) == 24


def test_a_log_that_cannot_be_written_is_503_never_the_data(api: TestClient, keys: dict[str, str], engine: Engine,
                                                            case: uuid.UUID) -> None:
    drop_the_log(engine)
    for path in ("/v1/agenda", "/v1/cases", f"/v1/cases/{case}"):
        answer = api.get(path, headers=auth(keys, "read"))
        assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1"), path
        assert answer.headers["content-type"] == "application/problem+json" and str(case) not in answer.text
    assert api.get("/v1/agencies/leads", headers=auth(keys, "read")).status_code == 200  # not logged: counts only
