"""The HTTP moves on PostgreSQL racing each other, a trigger or a merge: the real app and lifespan, two
requests (or a request and a worker's transaction) at the same moment, meeting at the race point (their read
of the case). No update is lost: each move answered 200 is in the case, its timeline, its event and the
audit trail once; a move the case no longer allows is 409, never a 500."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from allocation_race_kit import RacePoint, at_once, failures, patched
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from allocation import handlers, store
from allocation.access import keyring
from allocation.app import create_app, rules_from
from allocation.domain.triggers import Trigger
from allocation.models import AuditEntry, OutboxEvent, TimelineEntry
from allocation.settings import Settings
from frontdoor_contracts.vocabulary import CaseSource
from frontdoor_platform.database import for_writing
from frontdoor_platform.testing import MemoryPublisher

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
ALLOCATION = {"lead_agency_id": "hv-team-3", "agency_kind": "health_visiting", "lead_professional_ref": "hv-17"}


@pytest.fixture
def settings(pg_url: str) -> Settings:
    return Settings(database_url=pg_url, kafka_bootstrap="127.0.0.1:1", run_consumer=False,
                    sla_check_seconds=3600, publish_timeout_seconds=1)


@pytest.fixture
def api(settings: Settings, pg_engine: Engine) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with Session(pg_engine) as session:
        key = keyring().create(session, "race-coordinator", {"coordinator"}, NOW)
    with TestClient(create_app(settings, publisher=MemoryPublisher(), clock=lambda: NOW)) as client:
        yield client, {"Authorization": f"Bearer {key}"}


def trigger(family: uuid.UUID, minutes: int) -> Trigger:
    return Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:frontdoor:contacts",
                   event_id=str(uuid.uuid4()), family_id=family, occurred_at=NOW - timedelta(days=3, minutes=-minutes),
                   child_ids=(uuid.uuid4(),))


def in_transaction(engine: Engine, action: Callable[[Session], Any]) -> Callable[[], Any]:
    def work() -> Any:
        with Session(for_writing(engine)) as session:
            result = action(session)
            session.commit()
        return result

    return work


def open_case(engine: Engine, settings: Settings, family: uuid.UUID, minutes: int = 0) -> uuid.UUID:
    _, case = in_transaction(engine, lambda s: handlers.on_trigger(s, trigger(family, minutes), rules_from(settings),
                                                                   NOW - timedelta(days=3)))()
    return case.case_id


def race(engine: Engine, *work: Callable[[], Any]) -> list[Any]:
    point = RacePoint(engine, parties=len(work))
    with patched(store, "get_case", point), patched(store, "family_cases", point):
        results = at_once(point, *work)
    assert point.raced or point.held
    return results


def record(engine: Engine, case_id: uuid.UUID) -> tuple[list[str], list[str], list[str]]:
    """The case's events, timeline and audited actions, sorted."""
    with Session(engine) as session:
        events = session.exec(select(OutboxEvent.topic).where(OutboxEvent.key == str(case_id))).all()
        kinds = session.exec(select(TimelineEntry.kind).where(col(TimelineEntry.case_id) == case_id)).all()
        actions = session.exec(select(AuditEntry.action).where(AuditEntry.target == f"case:{case_id}")).all()
    return sorted(events), sorted(kinds), sorted(actions)


def test_two_allocations_at_once_one_is_made_the_other_is_409(
        api: tuple[TestClient, dict[str, str]], pg_engine: Engine, settings: Settings) -> None:
    client, auth = api
    case_id = open_case(pg_engine, settings, uuid.uuid4())
    post = lambda agency: lambda: client.post(f"/v1/cases/{case_id}/allocation", headers=auth,  # noqa: E731
                                              json={**ALLOCATION, "lead_agency_id": agency})
    responses = race(pg_engine, post("hv-team-3"), post("school-100001"))
    assert failures(responses) == []
    assert sorted(r.status_code for r in responses) == [200, 409]
    won = next(r for r in responses if r.status_code == 200).json()
    assert next(r for r in responses if r.status_code == 409).headers["content-type"] == "application/problem+json"
    with Session(pg_engine) as session:
        stored = store.get_case(session, case_id)
    assert stored is not None and stored.allocation is not None
    assert stored.allocation.lead_agency_id == won["lead_agency_id"]
    assert record(pg_engine, case_id) == (["allocation.case-allocated.v1", "allocation.case-opened.v1"],
                                          ["allocated", "opened"], ["case.allocated"])


def test_an_offer_and_a_step_up_at_once_lose_nothing(
        api: tuple[TestClient, dict[str, str]], pg_engine: Engine, settings: Settings) -> None:
    client, auth = api
    case_id = open_case(pg_engine, settings, uuid.uuid4())
    assert client.post(f"/v1/cases/{case_id}/allocation", headers=auth, json=ALLOCATION).status_code == 200
    offer = lambda: client.post(f"/v1/cases/{case_id}/offer", headers=auth, json={})  # noqa: E731
    step_up = lambda: client.post(f"/v1/cases/{case_id}/step-up", headers=auth)  # noqa: E731
    responses = race(pg_engine, offer, step_up)
    assert failures(responses) == []
    codes = [r.status_code for r in responses]
    assert set(codes) <= {200, 409} and 200 in codes
    events, kinds, actions = record(pg_engine, case_id)
    made = {"offer": codes[0] == 200, "step-up": codes[1] == 200}
    assert ("allocation.offer-made.v1" in events, "allocation.stepped-up.v1" in events) == (made["offer"],
                                                                                             made["step-up"])
    assert (kinds.count("offer_made"), kinds.count("stepped_up")) == (made["offer"], made["step-up"])
    assert (actions.count("case.offer_recorded"), actions.count("case.stepped_up")) == (made["offer"],
                                                                                        made["step-up"])
    with Session(pg_engine) as session:
        stored = store.get_case(session, case_id)
    assert stored is not None and (stored.offered_at is not None) == made["offer"]
    assert (stored.stepped_up_at is not None) == made["step-up"]


def test_a_closure_racing_a_merge_is_applied_or_409_and_the_merge_goes_on(
        api: tuple[TestClient, dict[str, str]], pg_engine: Engine, settings: Settings) -> None:
    client, auth = api
    kept, joined = uuid.uuid4(), uuid.uuid4()
    first = open_case(pg_engine, settings, joined, 0)
    later = open_case(pg_engine, settings, kept, 30)
    close = lambda: client.post(f"/v1/cases/{later}/closure", headers=auth,  # noqa: E731
                                json={"outcome": "resolved_by_information_and_advice"})
    merge = in_transaction(pg_engine, lambda s: handlers.on_families_merged(s, kept, [joined], NOW))
    responses = race(pg_engine, close, merge)
    assert failures(responses) == []
    closed = responses[0].status_code == 200
    assert responses[0].status_code in (200, 409)
    with Session(pg_engine) as session:
        stored = store.get_case(session, later)
        survivor = store.get_case(session, first)
    assert stored is not None and survivor is not None
    assert stored.status.value == ("closed" if closed else "merged")  # closed first, or merged first and 409
    assert survivor.is_open and survivor.family_id == kept
    events, _, actions = record(pg_engine, later)
    assert events.count("allocation.case-closed.v1") == actions.count("case.closed") == int(closed)


def test_a_trigger_joining_a_case_and_its_allocation_at_once_both_stand(
        api: tuple[TestClient, dict[str, str]], pg_engine: Engine, settings: Settings) -> None:
    client, auth = api
    family = uuid.uuid4()
    case_id = open_case(pg_engine, settings, family)
    joining = trigger(family, 5)
    allocate = lambda: client.post(f"/v1/cases/{case_id}/allocation", headers=auth, json=ALLOCATION)  # noqa: E731
    attach = in_transaction(pg_engine, lambda s: handlers.on_trigger(s, joining, rules_from(settings), NOW))
    responses = race(pg_engine, allocate, attach)
    assert failures(responses) == []
    assert responses[0].status_code == 200 and responses[1][0].value == "attached"
    with Session(pg_engine) as session:
        stored = store.get_case(session, case_id)
    assert stored is not None and stored.allocation is not None and len(stored.triggers) == 2
    assert record(pg_engine, case_id)[1] == ["allocated", "opened", "trigger_attached"]
