"""`GET /v1/families/{family_id}/chronology` in process (the real app on a real SQLite file, the events applied
as the live stream applies them): the manager sees any family's story in time order, the lead agency its own,
another agency's family and a family never seen are 404, other roles 403, a missing key 401, a bad id 422 (all
problem+json naming no value), the read logged before the answer, a redelivery adding nothing, a family with no
events an empty chronology, and an agency key made only with its agency."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from read_log_testkit import drop_the_log, read_rows
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

NOW = datetime(2026, 7, 1, 10, 0, tzinfo=UTC)
ROUTE = "GET /v1/families/{family_id}/chronology"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'o.db'}", run_consumer=False)


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    built = build_engine(settings.database_url)
    migrate(built)
    yield built
    built.dispose()


@pytest.fixture
def keys(engine: Engine) -> dict[str, str]:
    made = {}
    with Session(for_writing(engine)) as session:
        for role in ("manager", "analyst", "admin"):
            made[role] = keyring().create(session, f"test-{role}", {role}, NOW)
        for agency in ("agency-1", "agency-2"):
            made[agency] = keyring().create(session, f"test-{agency}", {"agency"}, NOW, scope=agency)
    return made


@pytest.fixture
def api(settings: Settings, keys: dict[str, str]) -> Iterator[TestClient]:
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client


def get(api: TestClient, keys: dict[str, str], who: str | None, family_id: object) -> Any:
    headers = {"Authorization": f"Bearer {keys[who]}"} if who else {}
    return api.get(f"/v1/families/{family_id}/chronology", headers=headers)


def test_the_manager_and_the_lead_agency_see_the_story_in_time_order(
        api: TestClient, keys: dict[str, str], engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    for who in ("manager", "agency-1"):
        answer = get(api, keys, who, story.family_id)
        assert answer.status_code == 200, who
        body = answer.json()
        assert [item["kind"] for item in body["items"]] == story.KINDS
        assert [item["at"] for item in body["items"]] == sorted(item["at"] for item in body["items"])
        assert body["now_family_id"] == str(story.family_id) and body["truncated"] is False
    closed = body["items"][-1]
    assert (closed["facts"]["outcome"], closed["agency_id"], closed["case_id"]) == (
        "positive_outcome", "agency-1", str(story.case_id))
    assert [(r["reader"], r["route"], r["record"]) for r in read_rows(engine)] == [
        (f"client:test-{who}", ROUTE, f"family:{story.family_id}") for who in ("manager", "agency-1")]


def test_another_agency_a_family_never_seen_and_other_roles_are_refused_without_the_data(
        api: TestClient, keys: dict[str, str], engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    answers = {"agency-2": get(api, keys, "agency-2", story.family_id),
               "unknown": get(api, keys, "manager", uuid.uuid4()),
               "analyst": get(api, keys, "analyst", story.family_id),
               "admin": get(api, keys, "admin", story.family_id),
               "nobody": get(api, keys, None, story.family_id),
               "bad id": get(api, keys, "manager", "<script>not-an-id")}
    assert {name: a.status_code for name, a in answers.items()} == {
        "agency-2": 404, "unknown": 404, "analyst": 403, "admin": 403, "nobody": 401, "bad id": 422}
    for name, answer in answers.items():
        assert answer.headers["content-type"] == "application/problem+json", name
        assert str(story.family_id) not in answer.text and "script" not in answer.text, name
    assert answers["agency-2"].json() == answers["unknown"].json()  # another agency's family: as if never seen
    assert read_rows(engine) == []


def test_the_family_moves_to_the_agency_it_is_allocated_to_now(
        api: TestClient, keys: dict[str, str], engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    fed(engine, story, [story.reallocated("agency-2", NOW)], NOW)
    assert get(api, keys, "agency-1", story.family_id).status_code == 404
    items = get(api, keys, "agency-2", story.family_id).json()["items"]
    assert [i["agency_id"] for i in items if i["kind"] == "case_allocated"] == ["agency-1", "agency-2"]


def test_a_redelivery_adds_nothing(api: TestClient, keys: dict[str, str], engine: Engine, story: Any,
                                   fed: Any) -> None:
    items = story.events()
    fed(engine, story, items, NOW)
    before = get(api, keys, "manager", story.family_id).json()
    fed(engine, story, items, NOW)  # the same events again (a producer's retry, a replay)
    assert get(api, keys, "manager", story.family_id).json() == before


def test_a_family_with_no_events_yet_has_an_empty_chronology(api: TestClient, keys: dict[str, str],
                                                              engine: Engine) -> None:
    family_id = uuid.uuid4()  # a picture from before the chronology existed (events not rebuilt yet)
    view = FamilyView(family_id=family_id, as_of=NOW.date(), children=1, adults=0, problems=[], identified_on=[],
                      cases=[], plans=[], events=[])
    with Session(for_writing(engine)) as session:
        session.add(FamilyViewRow(family_id=family_id, document=view.model_dump_json(), updated_at=NOW))
        session.commit()
    answer = get(api, keys, "manager", family_id)
    assert answer.status_code == 200 and answer.json()["items"] == []
    assert get(api, keys, "agency-1", family_id).status_code == 404  # no case: no lead agency


def test_an_agency_key_is_made_only_with_its_agency(engine: Engine) -> None:
    with Session(for_writing(engine)) as session:
        with pytest.raises(ValueError, match="--scope"):
            keyring().create(session, "no-agency", {"agency"}, NOW)
        with pytest.raises(ValueError, match="only an agency key"):
            keyring().create(session, "scoped-manager", {"manager"}, NOW, scope="agency-1")


def test_a_read_log_that_cannot_be_written_is_503_never_the_data(api: TestClient, keys: dict[str, str],
                                                                 engine: Engine, story: Any, fed: Any) -> None:
    fed(engine, story, story.events(), NOW)
    drop_the_log(engine)
    answer = get(api, keys, "manager", story.family_id)
    assert (answer.status_code, answer.headers.get("retry-after")) == (503, "1")
    assert answer.headers["content-type"] == "application/problem+json" and str(story.case_id) not in answer.text


def test_a_read_of_a_merged_family_is_logged_against_every_family_whose_events_it_shows(
        api: TestClient, keys: dict[str, str], engine: Engine, story: Any, new_story: Any, fed: Any) -> None:
    other = new_story()
    fed(engine, story, [*story.events(), *other.events()], NOW)
    fed(engine, story, [story.merged_into(other.family_id, story.start + timedelta(days=100))], NOW)
    assert get(api, keys, "manager", other.family_id).status_code == 200
    # a subject access request about the merged-in family finds this read too
    assert {r["record"] for r in read_rows(engine)} == {f"family:{other.family_id}", f"family:{story.family_id}"}
