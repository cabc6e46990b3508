"""Who read what, in the outcomes service (the real app on a real SQLite
file): a family's view is in the read log (the key, the family's ids, the
route's template; nothing else) before it is answered, a merged family's
read under both ids; the KPI report (counts) is not; the admin lists one
family's reads; a burst of reads costs a couple of commits; a log that
cannot be written is a 503, never the data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import burst, drop_the_log, read_rows
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import build_engine, for_writing
from frontdoor_platform.testing import MemoryPublisher
from outcomes.access import keyring
from outcomes.app import create_app
from outcomes.domain.view import FamilyView
from outcomes.migrations import migrate
from outcomes.models import FamilyAliasRow, FamilyViewRow
from outcomes.settings import Settings

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
FAMILY, MERGED = uuid.uuid4(), uuid.uuid4()


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
        session.add(FamilyAliasRow(family_id=MERGED, now_family_id=FAMILY))
        session.commit()
    yield built
    built.dispose()


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    with Session(for_writing(engine)) as session:
        return {role: keyring().create(session, f"test-{role}", {role}, NOW) for role in ("manager", "admin",
                                                                                        "analyst")}


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def auth(keys: dict[str, str], role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {keys[role]}"}


def test_a_familys_view_is_logged_with_who_what_and_the_route(api: TestClient, keys: dict[str, str],
                                                              engine: Engine) -> None:
    assert api.get("/v1/kpis", headers=auth(keys, "analyst")).status_code == 200
    assert read_rows(engine) == []  # counts: no one's data
    assert api.get(f"/v1/families/{FAMILY}", headers=auth(keys, "manager")).json()["children"] == 2
    assert api.get(f"/v1/families/{MERGED}", headers=auth(keys, "manager")).status_code == 200
    assert api.get(f"/v1/families/{uuid.uuid4()}", headers=auth(keys, "manager")).status_code == 404
    rows = read_rows(engine)
    assert [(r["reader"], r["route"], r["record"]) for r in rows] == [
        ("client:test-manager", "GET /v1/families/{family_id}", f"family:{family}")
        for family in (FAMILY, MERGED, FAMILY)]
    assert {str(r["at"])[:19] for r in rows} == {"2026-03-02 10:00:00"}  # the service's clock


def test_the_admin_lists_a_familys_reads_and_no_one_else_may(api: TestClient, keys: dict[str, str]) -> None:
    assert api.get(f"/v1/families/{FAMILY}", headers=auth(keys, "manager")).status_code == 200
    listed = api.get("/v1/reads", params={"record": f"family:{FAMILY}"}, headers=auth(keys, "admin")).json()
    assert [(r["reader"], r["route"]) for r in listed["reads"]] == [("client:test-manager",
                                                                     "GET /v1/families/{family_id}")]
    for role in ("manager", "analyst"):
        refused = api.get("/v1/reads", params={"record": f"family:{FAMILY}"}, headers=auth(keys, role))
        assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"


def test_a_burst_of_reads_costs_far_fewer_commits_than_reads(api: TestClient, keys: dict[str, str],
                                                             engine: Engine) -> None:
    commits, statuses = burst(api, [(f"/v1/families/{FAMILY}", auth(keys, "manager"))] * 24)
    assert statuses == [200] * 24 and commits <= 3  # one each would be 24
    assert len(read_rows(engine)) == 24


def test_a_log_that_cannot_be_written_is_503_never_the_data(api: TestClient, keys: dict[str, str],
                                                            engine: Engine) -> None:
    drop_the_log(engine)
    answer = api.get(f"/v1/families/{FAMILY}", headers=auth(keys, "manager"))
    assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1")
    assert answer.headers["content-type"] == "application/problem+json" and str(FAMILY) not in answer.text
