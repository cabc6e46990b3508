"""The notifications service's audit trail, in process (memory publisher, a
real SQLite database, a fixed clock): every operation of the OpenAPI
document that changes something (the directory, signing secrets, a key
adult's one-time set-password code, an acknowledgement, a delivery sent
again, a worklist item resolved) writes exactly one audit row and one
notifications.audit.v1 event naming the key, with the directory entry
before and after; none holds a signing secret, a set-password code, a
password, a password hash or an API key."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from audit_conformance import changing_operations, marks, one_change, secrets_in, written
from fastapi.testclient import TestClient
from sealed_children import ChildKeys, applied
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications.access import keyring
from notifications.app import create_app, rules_from
from notifications.migrations import migrate
from notifications.models import AuditEntry, DeliveryRow, OutboxEvent, PasswordLinkRow
from notifications.settings import Settings

NOW = datetime(2026, 11, 13, 23, 0, tzinfo=UTC)
URN, AGENCY = "100001", "EH-NORTH"
TOPIC = "notifications.audit.v1"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", run_consumer=False)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"admin": keyring().create(session, "la-directory-admin", {"admin"}, NOW),
                "mash": keyring().create(session, "mash-duty", {"mash"}, NOW),
                "school": keyring().create(session, "school-100001", {"school"}, NOW, scope=URN)}


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def incident(engine: Engine, settings: Settings, **child: Any) -> None:
    """A DA incident through the consumer's handler, as the consumer would apply it (the child's key first)."""
    with Session(for_writing(engine)) as session:
        applied(session, rules_from(settings), ChildKeys(), [{
            "given_name": "Amelia", "family_name": "Testerton", "date_of_birth": "2015-09-03",
            "police_reference": "MPS/2026/041187", **child}], now=NOW)
        session.commit()


def failed(engine: Engine, notification_id: str) -> None:
    """The delivery failed for good (what the delivery loop writes; no loop runs in process)."""
    with Session(for_writing(engine)) as session:
        row = session.get(DeliveryRow, uuid.UUID(notification_id))
        assert row is not None
        row.state, row.attempts, row.last_reason = "failed", 1, "client_error"
        session.add(row)
        session.commit()


def school(channel: str = "inbox", **more: Any) -> dict[str, Any]:
    return {"name": "Example Primary", "phase": "primary", "channel": channel,
            "key_adults": [{"staff_id": "DSL-100001", "email": "dsl@school.example"}], **more}


def test_every_changing_operation_writes_one_audit_row_and_one_event(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings) -> None:
    shown: list[str] = []  # the secrets the API showed once
    ids: dict[str, str] = {}

    def call(role: str, method: str, path: str, body: Any = None, status: int = 200) -> Callable[[], None]:
        def made() -> None:
            answer = api.request(method, path.format(**ids), json=body,
                                 headers={"Authorization": f"Bearer {keys[role]}"})
            assert answer.status_code == status, (path, answer.text)
            if path.endswith("/signing-secrets"):
                shown.append(answer.json()["secret"])
            if path.endswith("/password-link"):
                shown.append(answer.json()["code"])
        return made

    def seeded() -> None:  # what the MASH's and the school's routes act on: an incident, a failed delivery
        incident(engine, settings, school_urn=URN)
        incident(engine, settings, school_urn=URN, given_name="Oliver")
        incident(engine, settings)  # no school: the worklist
        first, second = api.get("/v1/inbox", headers={"Authorization": f"Bearer {keys['school']}"}).json()
        [work] = api.get("/v1/worklist", headers={"Authorization": f"Bearer {keys['mash']}"}).json()
        ids.update(notification=first["notification_id"], failed=second["notification_id"], item=work["item_id"])
        failed(engine, ids["failed"])

    walk: dict[tuple[str, str], tuple[Callable[[], None], str, str, str]] = {
        ("PUT", "/v1/schools/{urn}"): (call("admin", "PUT", f"/v1/schools/{URN}", school(), 201),
                                       "la-directory-admin", "school.put", f"school:{URN}"),
        ("POST", "/v1/schools/{urn}/signing-secrets"): (
            call("admin", "POST", f"/v1/schools/{URN}/signing-secrets", status=201), "la-directory-admin",
            "school.signing_secret_rotated", f"school:{URN}"),
        ("PUT", "/v1/agencies/{agency_id}"): (
            call("admin", "PUT", f"/v1/agencies/{AGENCY}", {"name": "EH North", "channel": "inbox"}, 201),
            "la-directory-admin", "agency.put", f"agency:{AGENCY}"),
        ("POST", "/v1/agencies/{agency_id}/signing-secrets"): (
            call("admin", "POST", f"/v1/agencies/{AGENCY}/signing-secrets", status=201), "la-directory-admin",
            "agency.signing_secret_rotated", f"agency:{AGENCY}"),
        ("POST", "/v1/key-adults/{staff_id}/password-link"): (
            call("admin", "POST", "/v1/key-adults/DSL-100001/password-link", status=201),
            "la-directory-admin", "key_adult.password_link_issued", "key_adult:DSL-100001"),
        ("POST", "/v1/inbox/{notification_id}/acknowledgement"): (
            call("school", "POST", "/v1/inbox/{notification}/acknowledgement"), "school-100001",
            "notification.acknowledged", "notification:{notification}"),
        ("POST", "/v1/deliveries/{notification_id}/retry"): (
            call("mash", "POST", "/v1/deliveries/{failed}/retry"), "mash-duty", "delivery.retried",
            "notification:{failed}"),
        ("POST", "/v1/worklist/{item_id}/resolution"): (
            call("mash", "POST", "/v1/worklist/{item}/resolution", {"note_code": "school_phoned"}), "mash-duty",
            "worklist.resolved", "worklist:{item}"),
    }
    assert changing_operations(api.get("/openapi.json").json()) == set(walk)  # a new changing route is walked too
    problems = []
    for operation, (made, who, action, target) in walk.items():
        if operation[1].startswith("/v1/inbox"):
            seeded()
        before = marks(engine, AuditEntry, OutboxEvent)
        made()
        found = written(engine, AuditEntry, OutboxEvent, TOPIC, *before)
        problems += [f"{operation}: {p}" for p in one_change(found, f"client:{who}", action, target.format(**ids))]
    everything = written(engine, AuditEntry, OutboxEvent, TOPIC)
    with Session(engine) as session:
        hashes = [row.token_hash for row in session.exec(select(PasswordLinkRow)).all()]
    assert len(shown) == 3 and len(hashes) == 1
    assert secrets_in(everything, [*keys.values(), *shown, *hashes]) == []
    assert problems == []


def test_a_directory_entry_is_audited_before_and_after(api: TestClient, keys: dict[str, str],
                                                       engine: Engine) -> None:
    admin = {"Authorization": f"Bearer {keys['admin']}"}
    assert api.put(f"/v1/schools/{URN}", json=school(), headers=admin).status_code == 201
    api.post(f"/v1/schools/{URN}/signing-secrets", headers=admin)
    moved = school("webhook", webhook_url="https://attacker.example/hook")
    assert api.put(f"/v1/schools/{URN}", json=moved, headers=admin).status_code == 200
    entries = api.get("/v1/audit", params={"target": f"school:{URN}", "action": "school.put"},
                      headers=admin).json()["entries"]
    assert [e["before"] is None for e in entries] == [True, False]
    before, after = entries[1]["before"], entries[1]["after"]
    assert (before["channel"], before["webhook_url"]) == ("inbox", None)  # who redirected the school's alerts ...
    assert (after["channel"], after["webhook_url"]) == ("webhook", "https://attacker.example/hook")  # ... and where
    assert after["key_adults"] == [{"staff_id": "DSL-100001", "email": "dsl@school.example"}]
    assert "signing_secrets" not in after and entries[1]["actor"] == "client:la-directory-admin"
    unknown = api.post("/v1/key-adults/DSL-999999/password-link", headers=admin)
    assert unknown.status_code == 404
    assert api.get("/v1/audit", params={"action": "key_adult.password_link_issued"},
                   headers=admin).json()["entries"] == []
