"""The notifications HTTP API in process (memory publisher, a real SQLite
database, a fixed clock): the directory, a school's inbox and
acknowledgement, the MASH's views; every role against every route, and the
OpenAPI document fuzzed by schemathesis."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from api_conformance import fuzz, openapi_gaps
from fastapi.testclient import TestClient
from sealed_children import ChildKeys, applied
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications.access import keyring
from notifications.app import create_app, rules_from
from notifications.migrations import migrate
from notifications.models import DeliveryRow, NotificationRow
from notifications.settings import Settings

NOW = datetime(2026, 11, 13, 23, 0, tzinfo=UTC)
CONTACT = uuid.UUID("2f91dc18-06c5-5150-a789-4a84ed5f23f5")
A, B = "100001", "100002"
ROLES = ("admin", "mash", "school_a", "school_b", "school_unscoped", "none")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'n.db'}", run_consumer=False)


@pytest.fixture
def keys(settings: Settings) -> dict[str, str]:
    engine = build_engine(settings.database_url)
    migrate(engine)
    with Session(for_writing(engine)) as session:
        ring = keyring()
        made = {"admin": ring.create(session, "admin-1", {"admin"}, NOW),
                "mash": ring.create(session, "mash-1", {"mash"}, NOW),
                "school_a": ring.create(session, "school-a", {"school"}, NOW, scope=A),
                "school_b": ring.create(session, "school-b", {"school"}, NOW, scope=B),
                "school_unscoped": ring.create(session, "school-x", {"school"}, NOW),
                "none": "fdn_not-a-key"}
    engine.dispose()
    return made


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def school_body(channel: str = "inbox", **more: Any) -> dict[str, Any]:
    return {"name": "Example Primary", "phase": "primary", "channel": channel,
            "key_adults": [{"staff_id": f"DSL-{uuid.uuid4().hex[:6]}", "email": "dsl@school.example"}], **more}


def incident(settings: Settings, **child: Any) -> None:
    """A DA incident through the consumer's handler, as the consumer would apply it (the child's key first)."""
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:
        applied(session, rules_from(settings), ChildKeys(), [{
            "given_name": "Amelia", "family_name": "Testerton", "date_of_birth": "2015-09-03",
            "police_reference": "MPS/2026/041187", **child}], now=NOW, contact_id=CONTACT)
        session.commit()
    engine.dispose()


@pytest.fixture
def seeded(api: TestClient, keys: dict[str, str], settings: Settings) -> dict[str, str]:
    """Schools A and B, an agency, one notification at each school, one worklist item."""
    for urn in (A, B):
        assert api.put(f"/v1/schools/{urn}", json=school_body(), headers=bearer(keys["admin"])).status_code == 201
    assert api.put("/v1/agencies/EH-NORTH", json={"name": "EH North", "channel": "inbox"},
                   headers=bearer(keys["admin"])).status_code == 201
    incident(settings, school_urn=A)
    incident(settings, school_urn=B, given_name="Oliver")
    incident(settings)  # no school: the worklist
    ids = {}
    for who in ("school_a", "school_b"):
        [item] = api.get("/v1/inbox", headers=bearer(keys[who])).json()
        ids[who] = item["notification_id"]
    [work] = api.get("/v1/worklist", headers=bearer(keys["mash"])).json()
    adult = api.get(f"/v1/schools/{A}", headers=bearer(keys["admin"])).json()["key_adults"][0]["staff_id"]
    return {"a": ids["school_a"], "b": ids["school_b"], "item": work["item_id"], "adult": adult}


def test_a_school_sees_and_acknowledges_only_its_own_notifications(api: TestClient, keys: dict[str, str],
                                                                  seeded: dict[str, str]) -> None:
    mine = api.get(f"/v1/inbox/{seeded['a']}", headers=bearer(keys["school_a"]))
    assert mine.status_code == 200
    notice = mine.json()["notice"]
    assert (notice["given_name"], notice["police_reference"], notice["police_attended"]) == (
        "Amelia", "MPS/2026/041187", True)
    assert set(notice) == {"given_name", "family_name", "date_of_birth", "upn", "incident_at", "police_attended",
                           "police_reference", "child_present", "mash_contact", "erased"}  # the minimum, no more
    for method, path in (("GET", f"/v1/inbox/{seeded['b']}"), ("POST", f"/v1/inbox/{seeded['b']}/acknowledgement")):
        theirs = api.request(method, path, headers=bearer(keys["school_a"]))
        unknown = api.request(method, path.replace(seeded["b"], str(uuid.uuid4())), headers=bearer(keys["school_a"]))
        assert theirs.status_code == unknown.status_code == 404  # another school's id is not confirmed
        assert theirs.json()["detail"] == unknown.json()["detail"]
    done = api.post(f"/v1/inbox/{seeded['a']}/acknowledgement", headers=bearer(keys["school_a"])).json()
    assert (done["acknowledged_by"], done["acknowledged_at"]) == ("school-a", "2026-11-13T23:00:00Z")
    again = api.post(f"/v1/inbox/{seeded['a']}/acknowledgement", headers=bearer(keys["school_a"])).json()
    assert again == done
    status = api.get(f"/v1/deliveries/{seeded['a']}", headers=bearer(keys["mash"])).json()
    assert status["acknowledged_by"] == "school-a" and "given_name" not in str(status) and "Amelia" not in str(status)


def test_the_directory_validates_names_the_field_and_rotates_secrets_with_an_overlap(
        api: TestClient, keys: dict[str, str]) -> None:
    admin = bearer(keys["admin"])
    bad = api.put(f"/v1/schools/{A}", json=school_body(channel="webhook"), headers=admin)
    assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"
    assert "webhook_url" in bad.text
    assert api.put("/v1/schools/12345X", json=school_body(), headers=admin).status_code == 422
    made = api.put(f"/v1/schools/{A}", json=school_body("webhook", webhook_url="https://school.example/hook",
                                                       calendar={"closed_days": ["2026-11-16"]}), headers=admin)
    assert made.status_code == 201 and made.json()["calendar"]["closed_days"] == ["2026-11-16"]
    assert made.json()["require_second_factor"] is False
    first = api.post(f"/v1/schools/{A}/signing-secrets", headers=admin).json()
    assert first["secret"].startswith("whsec_") and first["previous_expires_at"] is None
    second = api.post(f"/v1/schools/{A}/signing-secrets", headers=admin).json()
    assert second["previous_expires_at"] == "2026-11-14T23:00:00Z"  # 24 h overlap
    assert api.get(f"/v1/schools/{A}", headers=admin).json()["signing_secrets"] == 2
    assert first["secret"] not in api.get("/v1/schools", headers=admin).text  # shown once only
    taken = school_body()
    taken["key_adults"] = api.get(f"/v1/schools/{A}", headers=admin).json()["key_adults"]
    assert api.put(f"/v1/schools/{B}", json=taken, headers=admin).status_code == 409  # staff id at another school
    link = api.post(f"/v1/key-adults/{taken['key_adults'][0]['staff_id']}/password-link", headers=admin)
    assert link.status_code == 201 and set(link.json()) == {"code", "link", "expires_at"}
    assert link.json()["link"].endswith(f"/page/set-password?code={link.json()['code']}")
    assert link.json()["expires_at"] == "2026-11-14T00:00:00Z"  # an hour: password_link_minutes
    assert link.json()["code"] not in api.get(f"/v1/schools/{A}", headers=admin).text  # shown once only
    assert api.post("/v1/key-adults/nobody-here/password-link", headers=admin).status_code == 404
    strict = api.put(f"/v1/schools/{A}", json=school_body(key_adults=taken["key_adults"], require_second_factor=True),
                     headers=admin)
    assert strict.status_code == 200 and api.get(f"/v1/schools/{A}", headers=admin).json()["require_second_factor"]
    assert api.put("/v1/key-adults/x/password", json={"password": "a long passphrase"},
                   headers=admin).status_code in (404, 405)  # the admin sets no password


def set_delivery(settings: Settings, notification_id: str, erased: bool = False, **values: Any) -> None:
    """What the delivery loop and the retention timer write, written here (no loop runs in process)."""
    engine = build_engine(settings.database_url)
    with Session(for_writing(engine)) as session:
        row = session.get(DeliveryRow, uuid.UUID(notification_id))
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        if erased:
            note = session.get(NotificationRow, uuid.UUID(notification_id))
            assert note is not None
            note.erased_at, note.given_name = NOW, None
            session.add(note)
        session.commit()
    engine.dispose()


def test_the_mash_sends_a_failed_delivery_again_once_by_the_directory_now(
        api: TestClient, keys: dict[str, str], seeded: dict[str, str], settings: Settings) -> None:
    mash, admin = bearer(keys["mash"]), bearer(keys["admin"])
    # refused for good (the school's system answered 404: a wrong URL), then the admin fixes the directory
    set_delivery(settings, seeded["a"], state="failed", attempts=1, last_reason="client_error", last_status=404)
    assert api.put(f"/v1/schools/{A}", json=school_body("webhook", webhook_url="https://a.school.example/hook",
                                                       key_adults=api.get(f"/v1/schools/{A}", headers=admin)
                                                       .json()["key_adults"]), headers=admin).status_code == 200
    sent = api.post(f"/v1/deliveries/{seeded['a']}/retry", headers=mash)
    assert sent.status_code == 200, sent.text
    status = sent.json()
    assert (status["state"], status["channel"], status["attempts"]) == ("pending", "webhook", 1)
    assert (status["retried_by"], status["retried_at"]) == ("mash-1", "2026-11-13T23:00:00Z")
    assert api.get(f"/v1/deliveries/{seeded['a']}", headers=mash).json()["state"] == "pending"
    again = api.post(f"/v1/deliveries/{seeded['a']}/retry", headers=mash)
    assert again.status_code == 409 and "queued already" in again.json()["detail"]
    set_delivery(settings, seeded["a"], state="delivered")
    delivered = api.post(f"/v1/deliveries/{seeded['a']}/retry", headers=mash)
    assert delivered.status_code == 409 and "delivered" in delivered.json()["detail"]
    set_delivery(settings, seeded["b"], state="failed", erased=True)
    erased = api.post(f"/v1/deliveries/{seeded['b']}/retry", headers=mash)
    assert erased.status_code == 409 and "erased" in erased.json()["detail"]
    unknown = api.post(f"/v1/deliveries/{uuid.uuid4()}/retry", headers=mash)
    assert unknown.status_code == 404
    metrics = api.get("/metrics").text
    assert 'frontdoor_notifications_delivery_retries_total{channel="webhook"} 1.0' in metrics


ROUTES: list[tuple[str, str, Any, dict[str, int]]] = [
    # method, path, body, expected status per role (the rest: 403; "none": 401)
    ("PUT", "/v1/schools/{a}", "school", {"admin": 200}),
    ("GET", "/v1/schools", None, {"admin": 200, "mash": 200}),
    ("GET", "/v1/schools/{a}", None, {"admin": 200, "mash": 200}),
    ("POST", "/v1/schools/{a}/signing-secrets", None, {"admin": 201}),
    ("PUT", "/v1/agencies/EH-NORTH", {"name": "EH North", "channel": "inbox"}, {"admin": 200}),
    ("GET", "/v1/agencies", None, {"admin": 200, "mash": 200}),
    ("POST", "/v1/agencies/EH-NORTH/signing-secrets", None, {"admin": 201}),
    ("POST", "/v1/key-adults/{adult}/password-link", None, {"admin": 201}),
    ("GET", "/v1/inbox", None, {"school_a": 200, "school_b": 200}),
    ("GET", "/v1/inbox/{a}", None, {"school_a": 200, "school_b": 404}),
    ("POST", "/v1/inbox/{a}/acknowledgement", None, {"school_a": 200, "school_b": 404}),
    ("GET", "/v1/deliveries", None, {"mash": 200}),
    ("GET", "/v1/deliveries/{a}", None, {"mash": 200}),
    ("POST", "/v1/deliveries/{a}/retry", None, {"mash": 409}),  # queued already: not sent again
    ("GET", "/v1/worklist", None, {"mash": 200}),
    ("POST", "/v1/worklist/{item}/resolution", {"note_code": "school_phoned"}, {"mash": 200}),
    ("GET", "/v1/audit", None, {"admin": 200}),
    ("GET", "/v1/reads?record=notification:{a}", None, {"admin": 200}),
]


def test_every_role_against_every_route(api: TestClient, keys: dict[str, str], seeded: dict[str, str]) -> None:
    documented = {(m.upper(), p) for p, item in api.get("/openapi.json").json()["paths"].items() for m in item
                  if p.startswith("/v1/")}
    covered = {(m, re.sub(r"\{(a|item|adult)\}", lambda g: "{" + {"a": "urn", "item": "item_id",
                                                                  "adult": "staff_id"}[g[1]] + "}", p))
               for m, p, _, _ in ROUTES}
    covered = {(m, p.split("?")[0].replace("/v1/inbox/{urn}", "/v1/inbox/{notification_id}")
                .replace("/v1/deliveries/{urn}", "/v1/deliveries/{notification_id}")
                .replace("/v1/agencies/EH-NORTH", "/v1/agencies/{agency_id}")) for m, p in covered}
    assert documented == covered  # the matrix covers every route
    urn_paths = {"/v1/schools/{a}", "/v1/schools/{a}/signing-secrets"}
    failures = []
    for method, template, body, allowed in ROUTES:
        path = template.replace("{a}", A if template.split("?")[0] in urn_paths else seeded["a"]).format(**seeded)
        payload = school_body() if body == "school" else body
        if body == "school":
            payload["key_adults"] = [{"staff_id": seeded["adult"], "email": "dsl@school.example"}]
        for role in ROLES:
            expected = allowed.get(role, 401 if role == "none" else 403)
            if role == "school_unscoped" and allowed.get("school_a"):
                expected = 403  # a school key without its URN
            got = api.request(method, path, json=payload, headers=bearer(keys[role])).status_code
            if got != expected:
                failures.append(f"{method} {template} as {role}: {got}, expected {expected}")
    assert failures == []


def test_openapi_serves_a_generated_client_and_survives_fuzzing(api: TestClient, keys: dict[str, str],
                                                                seeded: dict[str, str]) -> None:
    assert openapi_gaps(api.get("/openapi.json").json()) == []
    assert not any(path.startswith("/page") for path in api.get("/openapi.json").json()["paths"])
    for role in ("admin", "mash", "school_a"):
        assert fuzz(api, keys[role], examples=15) == []
