"""A family's chronology filled by the stream's batch logic (`FaustStream._handle`) on a real database (SQLite
and PostgreSQL): every step of the story in time order with its categories, a redelivery adding nothing, a
merged family's events under the family it is part of, a correction that came before its contact, the lead
agency as the latest allocation says, a rebuild's buffered batches giving the same rows, and a privacy access
request exporting the rows."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from frontdoor_contracts.envelope import encode_event
from frontdoor_contracts.errors import parse_event
from frontdoor_platform.database import for_writing
from outcomes.readmodel import chronology as chronology_rows
from outcomes.readmodel.apply import buffered
from outcomes.readmodel.chronology import ChronologyEntry
from outcomes.readmodel.chronology_read import Chronology, chronology
from outcomes.readmodel.privacy import held_records
from outcomes.stream.agents import FaustStream
from outcomes.stream.processor import MODELS


def read(engine: Engine, family_id: uuid.UUID, agency: str | None = None) -> Chronology | None:
    with Session(engine) as session:
        return chronology(session, family_id, agency)


def count(engine: Engine) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(ChronologyEntry)).one()


async def test_the_story_is_shown_in_time_order_with_its_categories(stream: FaustStream, engine: Engine,
                                                                    story: Any) -> None:
    await stream._handle(story.records(story.events()))
    found = read(engine, story.family_id)
    assert found is not None and found.now_family_id == story.family_id and not found.truncated
    assert [i.kind for i in found.items] == story.KINDS
    at = [i.at for i in found.items]
    assert at == sorted(at)
    by_kind = {i.kind.value: i for i in found.items}
    recorded = by_kind["contact_recorded"]
    assert (recorded.facts.source, recorded.facts.concerns) == ("school", ["neglect", "school_attendance"])
    assert recorded.contact_id == story.contact_id and recorded.facts.child_ids == story.children
    decided = by_kind["contact_decided"].facts
    assert (decided.decision, decided.level_of_need, decided.referral, decided.re_referral) == (
        "early_help", 3, False, False)
    assert by_kind["case_opened"].facts.problems == ["school_attendance"]
    assert by_kind["plan_made"].facts.problems == ["school_attendance"]
    assert by_kind["plan_made"].at == by_kind["case_opened"].at  # the plan at its case's opening
    assert (by_kind["case_allocated"].agency_id, by_kind["case_allocated"].facts.lead_professional) == (
        "agency-1", "lp-7")
    assert by_kind["offer_made"].facts.within_target is True
    assert by_kind["offer_answered"].facts.answer == "accepted"
    assert by_kind["case_closed"].facts.outcome == "positive_outcome"
    fact = by_kind["partner_fact"].facts
    assert (fact.dataset, fact.category, fact.person_id) == ("attendance", "spring", story.children[0])
    corrected = by_kind["re_referral_corrected"]
    assert corrected.facts.re_referral is True and corrected.facts.child_ids == [story.children[1]]


async def test_a_redelivered_story_adds_nothing(stream: FaustStream, engine: Engine, story: Any) -> None:
    items = story.events()
    await stream._handle(story.records(items))
    before, rows = read(engine, story.family_id), count(engine)
    await stream._handle(story.records(items, replay=True))  # a replay of the same offsets after a crash
    await stream._handle(story.records(items))  # the same events published again, at later offsets
    assert count(engine) == rows == len(items)
    assert read(engine, story.family_id) == before


async def test_a_merged_familys_events_are_under_the_family_it_is_part_of(
        stream: FaustStream, engine: Engine, story: Any, new_story: Any) -> None:
    other = new_story()
    await stream._handle(story.records([*story.events(), *other.events()]))
    merge = story.merged_into(other.family_id, story.start + timedelta(days=100))
    await stream._handle(story.records([merge]))
    for asked in (story.family_id, other.family_id):
        found = read(engine, asked)
        assert found is not None and found.now_family_id == other.family_id
        assert set(found.family_ids) == {story.family_id, other.family_id}
        assert sum(1 for i in found.items if i.kind == "case_opened") == 2
        assert [i.kind for i in found.items].count("families_merged") == 1


async def test_a_correction_read_before_its_contact_is_shown_once_the_contact_is(
        stream: FaustStream, engine: Engine, story: Any) -> None:
    items = story.events()
    correction = next(item for item in items if item[0] == "contacts.re-referral-corrected.v1")
    await stream._handle(story.records([correction]))
    assert read(engine, story.family_id) is None  # a contact alone names no family yet
    await stream._handle(story.records([i for i in items if i is not correction]))
    found = read(engine, story.family_id)
    assert found is not None and [i.kind for i in found.items] == story.KINDS


async def test_the_lead_agency_is_the_latest_allocations(stream: FaustStream, engine: Engine, story: Any) -> None:
    await stream._handle(story.records(story.events()))
    assert read(engine, story.family_id, "agency-1") is not None
    assert read(engine, story.family_id, "agency-2") is None
    later = story.reallocated("agency-2", story.start + timedelta(days=20))
    await stream._handle(story.records([later]))
    assert read(engine, story.family_id, "agency-1") is None
    assert read(engine, story.family_id, "agency-2") is not None
    assert read(engine, uuid.uuid4(), None) is None  # never seen: nobody sees it


def test_a_rebuilds_buffered_batches_give_the_same_rows(engine: Engine, story: Any) -> None:
    decoded = [(topic, parse_event(encode_event(event), MODELS[topic], lenient=True))
               for topic, event in story.events()]
    for _ in range(2):
        with Session(for_writing(engine)) as session:
            with buffered(session):
                for topic, event in decoded:
                    chronology_rows.apply(session, topic, event)
            session.commit()
    assert count(engine) == len(decoded)


async def test_an_access_request_finds_the_familys_rows_and_its_contacts_corrections(
        stream: FaustStream, engine: Engine, story: Any) -> None:
    await stream._handle(story.records(story.events()))
    with Session(engine) as session:
        records = held_records(session, [story.family_id], set(), set())
    rows = [r for r in records if r["table"] == "chronology"]
    assert len(rows) == len(story.events())
    assert {r["kind"] for r in rows} >= {"contact_recorded", "re_referral_corrected", "case_closed"}


async def test_the_schools_notification_and_acknowledgement_are_shown_in_order_once(
        stream: FaustStream, engine: Engine, story: Any) -> None:
    told = story.school_told()
    await stream._handle(story.records(told))  # before the contact: no family known yet
    assert read(engine, story.family_id) is None
    await stream._handle(story.records(story.events()))
    found = read(engine, story.family_id)
    assert found is not None
    kinds = [i.kind.value for i in found.items]
    assert kinds == story.TOLD_KINDS
    notified, acknowledged = (next(i for i in found.items if i.kind.value == kind)
                              for kind in ("school_notified", "school_acknowledged"))
    assert (notified.facts.channel, notified.facts.recipient, notified.facts.before_deadline) == (
        "webhook", "100001", True)
    assert notified.contact_id == acknowledged.contact_id == story.contact_id
    assert notified.facts.child_ids == acknowledged.facts.child_ids == [story.children[0]]
    assert acknowledged.facts.before_deadline is True and acknowledged.facts.channel is None
    assert "DSL-0042" not in found.model_dump_json()  # the key adult's staff id is not the family's
    rows = count(engine)
    await stream._handle(story.records(told, replay=True))  # a replay of the same offsets
    await stream._handle(story.records(told))  # the same events published again
    assert count(engine) == rows
    assert read(engine, story.family_id) == found


async def test_a_notification_naming_no_contact_adds_nothing(stream: FaustStream, engine: Engine,
                                                             story: Any) -> None:
    await stream._handle(story.records(story.events()))
    rows, before = count(engine), read(engine, story.family_id)
    await stream._handle(story.records(story.school_told(ids=False)))  # an older producer's events
    assert count(engine) == rows
    assert read(engine, story.family_id) == before
