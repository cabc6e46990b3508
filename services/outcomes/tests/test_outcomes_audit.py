"""The outcomes service's authorization matrix (every role against every
route, the audit trail's and the read log's among them) and its audit trail: no operation of
its API changes anything, and the keys made and revoked at the command line
are audited (actor `cli:<user>`) with an outcomes.audit.v1 event each,
without the key. And a KPI period past the calendar is refused, not a 500."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from audit_conformance import changing_operations, secrets_in, written
from fastapi.testclient import TestClient
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from outcomes.access import keyring
from outcomes.app import create_app
from outcomes.migrations import migrate
from outcomes.models import AuditEntry, OutboxEvent
from outcomes.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ROUTES = ["/v1/kpis", f"/v1/families/{uuid.uuid4()}", "/v1/audit", f"/v1/reads?record=family:{uuid.uuid4()}"]
EXPECTED = {  # status per route, in the order above (404: let through, the family is unknown)
    "no key": [401] * 4, "revoked": [401] * 4, "expired": [401] * 4,
    "analyst": [200, 403, 403, 403], "manager": [200, 404, 403, 403], "admin": [403, 403, 200, 200],
}


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", run_consumer=False)


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        made = {role: keyring().create(session, f"test-{role}", {role}, NOW)
                for role in ("analyst", "manager", "admin")}
        made["revoked"] = keyring().create(session, "test-revoked", {"admin"}, NOW)
        keyring().revoke(session, "test-revoked", NOW)
        made["expired"] = keyring().create(session, "test-expired", {"admin"}, NOW - timedelta(days=9),
                                           expires_at=NOW - timedelta(days=1))
    engine.dispose()
    return made


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


@pytest.mark.parametrize("who", list(EXPECTED))
def test_authorization_matrix(api: TestClient, keys: dict[str, str], who: str) -> None:
    headers = {} if who == "no key" else {"Authorization": f"Bearer {keys[who]}"}
    assert [api.get(path, headers=headers).status_code for path in ROUTES] == EXPECTED[who]


def test_no_operation_changes_anything(api: TestClient) -> None:
    assert changing_operations(api.get("/openapi.json").json()) == set()  # a changing route must be audited


def test_keys_made_and_revoked_at_the_command_line_are_audited(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    env = {**os.environ, "OUTCOMES_DATABASE_URL": url}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "outcomes.main", *args], env=env, capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()

    key = cli("create-client", "--name", "eh-analyst-2", "--roles", "analyst", "--expires-in-days", "30")
    cli("revoke-client", "--name", "eh-analyst-2")
    engine = build_engine(url)
    found = written(engine, AuditEntry, OutboxEvent, "outcomes.audit.v1")
    engine.dispose()
    assert [(r["actor"].startswith("cli:"), r["action"], r["target"]) for r in found.rows] == [
        (True, "api_client.created", "api_client:eh-analyst-2"),
        (True, "api_client.revoked", "api_client:eh-analyst-2")]
    assert found.rows[0]["after"]["roles"] == ["analyst"] and found.rows[0]["after"]["expires_at"] is not None
    assert [e["data"]["audit_id"] for e in found.events] == [r["audit_id"] for r in found.rows]
    assert secrets_in(found, [key]) == []


def test_a_period_past_the_calendar_is_422_naming_the_field(api: TestClient, keys: dict[str, str]) -> None:
    """Found by schemathesis: a year before 0001-01-01 was a 500 (date value out of range)."""
    analyst = {"Authorization": f"Bearer {keys['analyst']}"}
    for name, value in (("end", "0001-01-01T00:00:00Z"), ("start", "9999-12-31T23:59:59-23:59")):
        answer = api.get("/v1/kpis", params={name: value}, headers=analyst)
        assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == name
