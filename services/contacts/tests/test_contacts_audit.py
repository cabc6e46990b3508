"""The contacts service's audit trail, in process (memory publisher, a real
SQLite database): every operation of the OpenAPI document that changes
something writes exactly one audit row and one contacts.audit.v1 event
(named by its key, once however often it is retried), none holds a key,
and the admin reads the trail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from audit_conformance import changing_operations, marks, one_change, secrets_in, written
from contacts_testkit import SEALING, contact_data
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contacts import handlers
from contacts.access import keyring
from contacts.app import create_app
from contacts.models import AuditEntry, OutboxEvent
from contacts.settings import Settings
from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
TOPIC = "contacts.audit.v1"
DECISION = {"decision": "early_help", "level_of_need": 2, "rationale": "r", "decided_by": "sw-1042"}
REPLY_KEY = new_reply_keys()[1]


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"front_door": keyring().create(session, "mash-front-door", {"intake", "decide"}, NOW, sources={"*"}),
                "admin": keyring().create(session, "audit-reader", {"admin", "privacy"}, NOW),
                "read": keyring().create(session, "reader", {"read"}, NOW)}


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], publisher: MemoryPublisher) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=publisher, clock=lambda: NOW)) as client:
        yield client


def bearer(token: str, **more: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **more}


def recorded(engine: Engine, settings: Settings, publisher: MemoryPublisher) -> None:
    """The contacts published so far, recorded as the consumer would (so a decision finds its contact)."""
    with Session(for_writing(engine)) as session:
        for record in publisher.on("frontdoor.contacts.v1"):
            event = parse_event(record.value, ContactSubmitted)
            handlers.record_contact(session, event, handlers.channel_of(event, settings.api_source),
                                    settings.source_uri, NOW, sealing=SEALING)
        session.commit()


def test_every_changing_operation_writes_one_audit_row_and_one_event(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings, publisher: MemoryPublisher) -> None:
    contact_id = ""
    body = contact_data()

    def submit() -> tuple[str, str, str]:
        nonlocal contact_id
        answer = api.post("/v1/contacts", json=body, headers=bearer(keys["front_door"]))
        assert answer.status_code == 202
        contact_id = answer.json()["contact_id"]
        return "client:mash-front-door", "contact.submitted", f"contact:{contact_id}"

    def decide() -> tuple[str, str, str]:
        recorded(engine, settings, publisher)
        answer = api.post(f"/v1/contacts/{contact_id}/decision", json=DECISION, headers=bearer(keys["front_door"]))
        assert answer.status_code == 202
        return "client:mash-front-door", "decision.submitted", f"contact:{contact_id}"

    def ask() -> tuple[str, str, str]:
        named = {name: body["children"][0][name] for name in ("given_name", "family_name", "date_of_birth", "postcode")}
        answer = api.post("/v1/privacy/requests", json={"kind": "access", "reply_key": REPLY_KEY, **named},
                          headers=bearer(keys["admin"]))
        assert answer.status_code == 202
        return "client:audit-reader", "privacy.requested", f"privacy-request:{answer.json()['request_id']}"

    calls = {("POST", "/v1/contacts"): submit, ("POST", "/v1/contacts/{contact_id}/decision"): decide,
             ("POST", "/v1/privacy/requests"): ask}
    assert changing_operations(api.get("/openapi.json").json()) == set(calls)  # a new changing route is walked too
    problems = []
    for operation, call in calls.items():
        before = marks(engine, AuditEntry, OutboxEvent)
        actor, action, target = call()
        found = written(engine, AuditEntry, OutboxEvent, TOPIC, *before)
        problems += [f"{operation}: {p}" for p in one_change(found, actor, action, target)]
        problems += [f"{operation}: {p}" for p in secrets_in(found, keys.values())]
        problems += [f"{operation}: names {n}" for n in ("given_name", "postcode")
                     if str(body["children"][0][n]) in json.dumps([found.rows, found.events], default=str)]
    assert problems == []


def test_a_retry_is_audited_once_and_a_refusal_not_at_all(api: TestClient, keys: dict[str, str],
                                                          engine: Engine) -> None:
    retried = bearer(keys["front_door"], **{"Idempotency-Key": "k-1"})
    body = contact_data()
    assert api.post("/v1/contacts", json=body, headers=retried).status_code == 202
    assert api.post("/v1/contacts", json=body, headers=retried).status_code == 202
    refused = api.post("/v1/contacts", json=contact_data(children=[]), headers=bearer(keys["front_door"]))
    assert refused.status_code == 422
    found = written(engine, AuditEntry, OutboxEvent, TOPIC)
    assert len(found.rows) == len(found.events) == 1
    assert found.rows[0]["after"] == {"referrer_source": "school", "da_incident": False}  # categories, no names


def test_the_admin_reads_the_trail_a_page_at_a_time(api: TestClient, keys: dict[str, str]) -> None:
    ids = [api.post("/v1/contacts", json=contact_data(), headers=bearer(keys["front_door"])).json()["contact_id"]
           for _ in range(3)]
    admin = bearer(keys["admin"])
    first = api.get("/v1/audit", params={"limit": 2}, headers=admin).json()
    assert [e["target"] for e in first["entries"]] == [f"contact:{i}" for i in ids[:2]]
    rest = api.get("/v1/audit", params={"limit": 2, "after": first["next_after"]}, headers=admin).json()
    assert [e["target"] for e in rest["entries"]] == [f"contact:{ids[2]}"] and rest["next_after"] is None
    one = api.get("/v1/audit", params={"target": f"contact:{ids[1]}"}, headers=admin).json()["entries"]
    assert [(e["actor"], e["action"]) for e in one] == [("client:mash-front-door", "contact.submitted")]
    assert api.get("/v1/audit", params={"since": "2026-03-03T00:00:00Z"}, headers=admin).json()["entries"] == []
    bad = api.get("/v1/audit", params={"since": "0001-01-01T00:00:00+01:00"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "since"
    assert api.get("/v1/audit", headers=bearer(keys["read"])).status_code == 403
    assert api.get("/v1/audit").status_code == 401


def test_keys_made_and_revoked_at_the_command_line_are_audited_without_the_key(tmp_path: Path) -> None:
    env = {**os.environ, "CONTACTS_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def cli(*args: str) -> str:
        return subprocess.run([sys.executable, "-m", "contacts.main", *args], env=env, capture_output=True,
                              text=True, check=True, timeout=60).stdout.strip()

    key = cli("create-client", "--name", "tvp-niche", "--roles", "intake", "--sources", "police")
    cli("revoke-client", "--name", "tvp-niche")
    engine = build_engine(env["CONTACTS_DATABASE_URL"])
    found = written(engine, AuditEntry, OutboxEvent, TOPIC)
    engine.dispose()
    assert [(r["actor"].split(":")[0], r["action"], r["target"]) for r in found.rows] == [
        ("cli", "api_client.created", "api_client:tvp-niche"), ("cli", "api_client.revoked", "api_client:tvp-niche")]
    assert found.rows[0]["after"]["sources"] == ["police"] and len(found.events) == 2
    assert secrets_in(found, [key]) == [] and key[4:] not in json.dumps(found.rows)
