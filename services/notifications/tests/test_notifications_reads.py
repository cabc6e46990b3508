"""Who read what, in the notifications API (the real app, a real SQLite
database): a school's inbox and one notification, the MASH's worklist and
the directory's schools are in the read log (the key, the notifications,
children, worklist items and key adults by id, the route's template;
nothing personal) before they are answered; the deliveries (ids, times,
states) and agencies are not; the admin lists one child's reads; a burst of
reads costs a couple of commits; a log that cannot be written is a 503."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import burst, drop_the_log, personal_in, read_rows
from sealed_children import ChildKeys, applied
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from notifications.access import keyring
from notifications.app import create_app, rules_from
from notifications.migrations import migrate
from notifications.settings import Settings

NOW = datetime(2026, 11, 13, 23, 0, tzinfo=UTC)
A = "100001"
CHILD, LOST = uuid.uuid4(), uuid.uuid4()
PERSONAL = ["Amelia", "Testerton", "2015-09-03", "MPS/2026/041187", "dsl@school.example"]


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    built = build_engine(f"sqlite:///{tmp_path / 'n.db'}")
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def settings(engine: Engine) -> Settings:
    return Settings(database_url=str(engine.url), run_consumer=False)


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        ring = keyring()
        return {"admin": ring.create(session, "admin-1", {"admin"}, NOW),
                "mash": ring.create(session, "mash-1", {"mash"}, NOW),
                "school": ring.create(session, "school-a", {"school"}, NOW, scope=A)}


@pytest.fixture
def api(settings: Settings, keys: dict[str, str], engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        school = {"name": "Example Primary", "phase": "primary", "channel": "inbox",
                  "key_adults": [{"staff_id": "DSL-A1", "email": "dsl@school.example"}]}
        assert client.put(f"/v1/schools/{A}", json=school, headers=bearer(keys["admin"])).status_code == 201
        for child_id, school_urn in ((CHILD, A), (LOST, None)):
            with Session(for_writing(engine)) as session:
                applied(session, rules_from(settings), ChildKeys(), [{
                    "child_id": child_id, "given_name": "Amelia", "family_name": "Testerton",
                    "date_of_birth": "2015-09-03", "police_reference": "MPS/2026/041187", "school_urn": school_urn}],
                    now=NOW)
                session.commit()
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_each_read_of_a_child_is_logged_with_who_what_and_the_route_and_nothing_personal(
        api: TestClient, keys: dict[str, str], engine: Engine) -> None:
    [item] = api.get("/v1/inbox", headers=bearer(keys["school"])).json()
    assert item["notice"]["given_name"] == "Amelia"
    notification = item["notification_id"]
    assert api.get(f"/v1/inbox/{notification}", headers=bearer(keys["school"])).status_code == 200
    for path in ("/v1/deliveries", f"/v1/deliveries/{notification}", "/v1/agencies"):
        assert api.get(path, headers=bearer(keys["mash"])).status_code == 200  # ids and states: not logged
    [work] = api.get("/v1/worklist", headers=bearer(keys["mash"])).json()
    assert api.get(f"/v1/schools/{A}", headers=bearer(keys["mash"])).status_code == 200
    rows = read_rows(engine)
    found = [(r["reader"], r["route"], r["record"]) for r in rows]
    assert found[:4] == [(reader, route, record) for reader, route in (
        ("client:school-a", "GET /v1/inbox"), ("client:school-a", "GET /v1/inbox/{notification_id}"))
        for record in (f"notification:{notification}", f"person:{CHILD}")]
    assert set(found[4:]) == {("client:mash-1", "GET /v1/worklist", f"worklist:{work['item_id']}"),
                              ("client:mash-1", "GET /v1/worklist", f"person:{LOST}"),
                              ("client:mash-1", "GET /v1/worklist", f"contact:{work['contact_id']}"),
                              ("client:mash-1", "GET /v1/schools/{urn}", "key_adult:DSL-A1")}
    assert personal_in(rows, PERSONAL) == []


def test_the_admin_lists_a_childs_reads_and_no_one_else_may(api: TestClient, keys: dict[str, str]) -> None:
    api.get("/v1/inbox", headers=bearer(keys["school"]))
    listed = api.get("/v1/reads", params={"record": f"person:{CHILD}"}, headers=bearer(keys["admin"])).json()
    assert [(r["reader"], r["route"]) for r in listed["reads"]] == [("client:school-a", "GET /v1/inbox")]
    for role in ("mash", "school"):
        refused = api.get("/v1/reads", params={"record": f"person:{CHILD}"}, headers=bearer(keys[role]))
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_a_burst_of_reads_costs_far_fewer_commits_than_reads(api: TestClient, keys: dict[str, str],
                                                             engine: Engine) -> None:
    commits, statuses = burst(api, [("/v1/inbox", bearer(keys["school"]))] * 24)
    assert statuses == [200] * 24 and commits <= 3  # one each would be 24
    assert len({r["read_id"] for r in read_rows(engine)}) == 24


def test_a_log_that_cannot_be_written_is_503_never_the_data(api: TestClient, keys: dict[str, str],
                                                            engine: Engine) -> None:
    [item] = api.get("/v1/inbox", headers=bearer(keys["school"])).json()
    drop_the_log(engine)
    for key, path in (("school", "/v1/inbox"), ("school", f"/v1/inbox/{item['notification_id']}"),
                      ("mash", "/v1/worklist"), ("mash", "/v1/schools"), ("mash", f"/v1/schools/{A}")):
        answer = api.get(path, headers=bearer(keys[key]))
        assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1"), path
        assert answer.headers["content-type"] == "application/problem+json"
        assert personal_in([{"body": answer.text}], [*PERSONAL, "DSL-A1"]) == [], path
    assert api.get("/v1/deliveries", headers=bearer(keys["mash"])).status_code == 200
