"""Who read what, in the contacts service (memory publisher, a real SQLite
database): a read of a contact or of a child's contacts is in the read log
(the key, the records shown by id, the route's template; nothing
personal) before it is answered, the admin lists one record's reads, a
burst of reads costs a couple of commits, and a log that cannot be written
is a 503, never the data."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from contacts_testkit import SEALING, contact_data
from fastapi.testclient import TestClient
from read_log_testkit import burst, drop_the_log, personal_in, read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from contacts import handlers
from contacts.access import keyring
from contacts.app import create_app
from contacts.settings import Settings
from frontdoor_contracts.contacts import ContactSubmitted
from frontdoor_contracts.errors import parse_event
from frontdoor_platform.database import for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {"intake": keyring().create(session, "mash-front-door", {"intake"}, NOW, sources={"*"}),
                "admin": keyring().create(session, "dpo", {"admin"}, NOW),
                "read": keyring().create(session, "case-system", {"read"}, NOW)}


@pytest.fixture
def publisher() -> MemoryPublisher:
    return MemoryPublisher()


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], publisher: MemoryPublisher) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=publisher, clock=lambda: NOW)) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def a_contact(api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings,
              publisher: MemoryPublisher) -> tuple[str, dict[str, object]]:
    """A contact submitted and recorded as the consumer would: its id and what was submitted."""
    submitted = contact_data()
    answer = api.post("/v1/contacts", json=submitted, headers=bearer(keys["intake"]))
    assert answer.status_code == 202
    with Session(for_writing(engine)) as session:
        event = parse_event(publisher.on("frontdoor.contacts.v1")[-1].value, ContactSubmitted)
        handlers.record_contact(session, event, handlers.channel_of(event, settings.api_source),
                                settings.source_uri, NOW, sealing=SEALING)
        session.commit()
    return answer.json()["contact_id"], submitted


def personal_values(submitted: dict[str, object]) -> list[str]:
    people = [*submitted.get("children", []), *submitted.get("adults", [])]  # type: ignore[misc]
    return [str(p[field]) for p in people for field in ("given_name", "family_name", "date_of_birth", "nhs_number")
            if p.get(field)]


def test_a_read_is_logged_with_who_what_and_the_route_and_nothing_personal(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings,
        publisher: MemoryPublisher) -> None:
    contact_id, submitted = a_contact(api, keys, engine, settings, publisher)
    assert read_rows(engine) == []  # submitting is not reading
    shown = api.get(f"/v1/contacts/{contact_id}", headers=bearer(keys["read"])).json()
    children = [c["person_id"] for c in shown["children"]]
    rows = read_rows(engine)
    assert {r["record"] for r in rows} == {f"contact:{contact_id}", f"family:{shown['family_id']}",
                                           *(f"person:{p}" for p in children)}
    assert {(r["reader"], r["route"]) for r in rows} == {("client:case-system", "GET /v1/contacts/{contact_id}")}
    assert len({r["read_id"] for r in rows}) == 1
    assert personal_in(rows, personal_values(submitted)) == []
    assert api.get(f"/v1/children/{children[0]}/contacts", headers=bearer(keys["read"])).status_code == 200
    later = read_rows(engine)[len(rows):]
    route = "GET /v1/children/{child_id}/contacts"
    assert {(r["route"], r["record"]) for r in later} == {(route, f"person:{children[0]}"),
                                                          (route, f"contact:{contact_id}")}
    assert api.get("/v1/contacts/00000000-0000-0000-0000-000000000009", headers=bearer(keys["read"])).status_code == 404
    assert len(read_rows(engine)) == len(rows) + 2  # nothing shown, nothing logged


def test_the_admin_lists_a_records_reads_and_no_one_else_may(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings,
        publisher: MemoryPublisher) -> None:
    contact_id, _ = a_contact(api, keys, engine, settings, publisher)
    for _ in range(3):
        assert api.get(f"/v1/contacts/{contact_id}", headers=bearer(keys["read"])).status_code == 200
    first = api.get("/v1/reads", params={"record": f"contact:{contact_id}", "limit": 2}, headers=bearer(keys["admin"]))
    assert first.status_code == 200
    rest = api.get("/v1/reads", params={"record": f"contact:{contact_id}", "after": first.json()["next_after"]},
                   headers=bearer(keys["admin"])).json()
    listed = first.json()["reads"] + rest["reads"]
    assert [(r["reader"], r["route"], r["at"]) for r in listed] == [
        ("client:case-system", "GET /v1/contacts/{contact_id}", "2026-03-02T10:00:00Z")] * 3
    for role in ("read", "intake"):
        refused = api.get("/v1/reads", params={"record": f"contact:{contact_id}"}, headers=bearer(keys[role]))
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    bad = api.get("/v1/reads", params={"record": "not a record"}, headers=bearer(keys["admin"]))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "query.record"


def test_a_burst_of_reads_costs_far_fewer_commits_than_reads(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings,
        publisher: MemoryPublisher) -> None:
    contact_id, _ = a_contact(api, keys, engine, settings, publisher)
    reads = 24
    commits, statuses = burst(api, [(f"/v1/contacts/{contact_id}", bearer(keys["read"]))] * reads)
    assert statuses == [200] * reads
    assert commits <= 3  # the first read's, then every other read's together (one each would be 24)
    assert len({r["read_id"] for r in read_rows(engine)}) == reads


def test_a_log_that_cannot_be_written_is_503_never_the_data(
        api: TestClient, keys: dict[str, str], engine: Engine, settings: Settings,
        publisher: MemoryPublisher) -> None:
    contact_id, submitted = a_contact(api, keys, engine, settings, publisher)
    drop_the_log(engine)
    for path in (f"/v1/contacts/{contact_id}", f"/v1/children/{contact_id}/contacts"):
        answer = api.get(path, headers=bearer(keys["read"]))
        assert answer.status_code in (503, 404), path
    answer = api.get(f"/v1/contacts/{contact_id}", headers=bearer(keys["read"]))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"] == "application/problem+json"
    assert personal_in([{"body": answer.text}], personal_values(submitted)) == [] and contact_id not in answer.text
