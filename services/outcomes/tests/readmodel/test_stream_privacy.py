"""Privacy requests (privacy.requests.v1) answered by the outcomes stream's
batch logic (`FaustStream._handle`, its tables plain dicts, as in
test_stream_hostile.py) on SQLite and PostgreSQL: an access request's answer
(one, whatever is replayed) exports the family's picture and KPI facts,
followed through a merge, and the reads of the family, sealed so that only
the request's private key opens it; an erasure or a correction is answered
KEPT with the schedule's reason (or the request's refusal) and changes
neither the tables nor the KPI report; a poison request is dead-lettered,
counted once, answered by nobody."""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hostile_records import encode, example, fresh
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from frontdoor_contracts import retention
from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import SealBroken, new_reply_keys, open_reply
from frontdoor_contracts.privacy import ClassAction, PrivacyAnswered, PrivacyKind, PrivacyRequested, reply_context
from frontdoor_contracts.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, ClosureOutcome, Decision, ReferrerSource
from frontdoor_platform.outbox import stored_headers
from frontdoor_platform.routes import Incoming
from outcomes.migrations import METADATA
from outcomes.models import OutboxEvent, ReadEntry
from outcomes.stream.agents import FaustStream

STREAM_NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # the `stream` fixture's clock
T = STREAM_NOW - timedelta(days=200)
START, END = STREAM_NOW - timedelta(days=365), STREAM_NOW
KEPT_BECAUSE = retention.default().of("kpi_read_model").kept_because
REFUSED = "A child has a safeguarding referral: the records are kept (case records)."


class Feed:
    """Kit items as the stream's records, each topic's offsets in order."""

    def __init__(self) -> None:
        self.next: dict[str, int] = defaultdict(int)

    def records(self, items: list[tuple[str, Any]]) -> list[Incoming]:
        found = []
        for topic, event in items:
            found.append(Incoming(topic, 0, self.next[topic], b"k", encode_event(event)))
            self.next[topic] += 1
        return found


class Family:
    """Family `into` (a contact with two children, an Early Help decision, a case allocated and closed); family
    `merged` (a contact) merged into it; a stranger family (a contact and a decision); reads of two."""

    def __init__(self, engine: Engine, kit: Any) -> None:
        self.into, self.merged, self.stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.child, self.sibling, self.case = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.contacts = [uuid.uuid4(), uuid.uuid4()]
        self.other_contact = uuid.uuid4()
        self.items = [
            kit.recorded(self.contacts[0], self.into, ReferrerSource.SCHOOL, T, [self.child, self.sibling]),
            kit.decided(self.contacts[0], self.into, Decision.EARLY_HELP, T + timedelta(hours=2),
                        [(self.child, False), (self.sibling, False)]),
            kit.opened(self.case, self.into, CaseSource.EARLY_HELP_DECISION, T + timedelta(days=1), [self.child]),
            kit.allocated(self.case, self.into, T + timedelta(days=3), "school-9", AgencyKind.SCHOOL),
            kit.closed(self.case, self.into, T + timedelta(days=90), ClosureOutcome.POSITIVE_OUTCOME, [self.child]),
            kit.recorded(self.contacts[1], self.merged, ReferrerSource.HEALTH, T + timedelta(days=4), [uuid.uuid4()]),
            kit.merged(self.into, [self.merged], T + timedelta(days=5)),
            kit.recorded(self.other_contact, self.stranger, ReferrerSource.POLICE, T, [uuid.uuid4()]),
            kit.decided(self.other_contact, self.stranger, Decision.NO_FURTHER_ACTION, T, [(uuid.uuid4(), False)]),
        ]
        with Session(engine) as session:
            for i, family in enumerate((self.into, self.stranger)):
                session.add(ReadEntry(read_id=uuid.uuid4(), at=T + timedelta(days=6, minutes=i), reader="client:m",
                                      route="GET /v1/families/{family_id}", record=f"family:{family}"))
            session.commit()


@pytest.fixture
async def family(stream: FaustStream, engine: Engine, kit: Any) -> Family:
    built = Family(engine, kit)
    await stream._handle(Feed().records(built.items))
    return built


def request(kind: PrivacyKind, families: list[uuid.UUID], people: list[uuid.UUID],
            refused: str | None = None) -> tuple[Any, PrivacyRequested, bytes]:
    private, public = new_reply_keys()
    data = PrivacyRequested(request_id=uuid.uuid4(), kind=kind, requested_by="dpo-admin", requested_at=STREAM_NOW,
                            reply_key=public, person_ids=people, family_ids=families, contact_ids=[],
                            erasure_refused=refused)
    return private, data, encode_event(new_event(data, source="urn:frontdoor:contacts", time=STREAM_NOW))


def on_topic(*values: bytes, start: int = 0) -> list[Incoming]:
    return [Incoming(PRIVACY_REQUESTS.name, 0, start + i, b"k", value) for i, value in enumerate(values)]


def dead_letters(engine: Engine) -> list[int]:
    """The offsets of the privacy records dead-lettered."""
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == f"{PRIVACY_REQUESTS.name}.dlq")).all()
    return sorted(int(dict(stored_headers(row))["dlq.offset"]) for row in rows)


def answers(engine: Engine) -> list[PrivacyAnswered]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == PRIVACY_REPLIES.name)
                            .order_by(col(OutboxEvent.id))).all()
    return [parse_event(row.payload, PrivacyAnswered).data for row in rows]


def tables(engine: Engine) -> dict[str, list[Any]]:
    """Every row of the read model's tables and the family views (the class the schedule keeps)."""
    names = ("family_views", "family_view_aliases", "kpi_contacts", "kpi_decisions", "kpi_decision_children",
             "kpi_family_aliases", "kpi_cases_opened", "kpi_allocations", "kpi_closures", "kpi_closure_children",
             "chronology")
    with engine.connect() as connection:
        return {name: sorted(map(tuple, connection.execute(METADATA.tables[name].select())), key=str)
                for name in names}


async def test_an_access_request_is_answered_once_with_the_familys_picture_and_facts_sealed_to_the_requester(
        stream: FaustStream, engine: Engine, family: Family) -> None:
    private, asked, raw = request(PrivacyKind.ACCESS, [family.merged], [family.child])  # followed to its family
    await stream._handle(on_topic(raw))
    await stream._handle(on_topic(raw, raw))  # a replay (offset 0) and the same request again (offset 1)
    assert stream.applied[(PRIVACY_REQUESTS.name, 0)] == 2
    (answer,) = answers(engine)
    assert (answer.request_id, answer.service, answer.kind) == (asked.request_id, "outcomes", PrivacyKind.ACCESS)
    classes = {c.retention_class: (c.action, c.records) for c in answer.classes}
    assert classes["read_log"] == (ClassAction.EXPORTED, 1)
    assert classes["kpi_read_model"][0] is ClassAction.EXPORTED

    assert answer.part is not None
    document = open_reply(private, answer.part, reply_context(asked.request_id, "outcomes"))
    records = document["classes"]["kpi_read_model"]
    assert len(records) == classes["kpi_read_model"][1]
    by_table: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        by_table[record["table"]].append(record)
    (view,) = by_table["family_views"]
    assert view["family_id"] == str(family.into) and view["view"]["children"] >= 2
    assert {r["contact_id"] for r in by_table["kpi_contacts"]} == {str(c) for c in family.contacts}
    assert {r["child_id"] for r in by_table["kpi_decision_children"]} == {str(family.child), str(family.sibling)}
    for table in ("kpi_cases_opened", "kpi_allocations", "kpi_closures", "kpi_closure_children"):
        assert [r["case_id"] for r in by_table[table]] == [str(family.case)], table
    assert by_table["kpi_allocations"][0]["lead_agency_id"] == "school-9"
    assert {r["kind"] for r in by_table["chronology"]} >= {"contact_recorded", "case_opened", "case_allocated"}
    assert {r["family_id"] for r in by_table["chronology"]} <= {str(family.into), str(family.merged), None}
    assert {(r["merged_family_id"], r["family_id"]) for r in by_table["kpi_family_aliases"]} == {
        (str(family.merged), str(family.into))}
    assert [(r["family_id"], r["now_family_id"]) for r in by_table["family_view_aliases"]] == [
        (str(family.merged), str(family.into))]
    assert [read["record"] for read in document["reads"]] == [f"family:{family.into}"]
    text = json.dumps(document)
    assert str(family.stranger) not in text and str(family.other_contact) not in text

    other, _ = new_reply_keys()
    with pytest.raises(SealBroken):
        open_reply(other, answer.part, reply_context(asked.request_id, "outcomes"))


async def test_a_request_replayed_after_its_answers_outbox_row_was_purged_is_not_answered_again(
        stream: FaustStream, engine: Engine, family: Family) -> None:
    """A replay below the stream's SQL offset (faust's group reset, a new stream id on the same database) of a
    request answered weeks ago, the outbox's row purged after 7 days: SQL holds the answer with the offset."""
    _, _, raw = request(PrivacyKind.ACCESS, [family.into], [family.child])
    await stream._handle(on_topic(raw))
    assert len(answers(engine)) == 1
    with Session(engine) as session:
        for row in session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == PRIVACY_REPLIES.name)).all():
            session.delete(row)  # published and purged
        session.commit()
    await stream._handle(on_topic(raw))
    assert answers(engine) == []


async def test_a_request_about_a_family_never_seen_holds_nothing(stream: FaustStream, engine: Engine,
                                                                family: Family) -> None:
    _, _, raw = request(PrivacyKind.ACCESS, [uuid.uuid4()], [uuid.uuid4()])
    await stream._handle(on_topic(raw))
    (answer,) = answers(engine)
    assert {(c.retention_class, c.action, c.records) for c in answer.classes} == {
        ("kpi_read_model", ClassAction.NONE_HELD, 0), ("read_log", ClassAction.NONE_HELD, 0)}


@pytest.mark.parametrize(("kind", "refused", "reason"), [
    pytest.param(PrivacyKind.ERASE, None, KEPT_BECAUSE, id="erase"),
    pytest.param(PrivacyKind.ERASE, REFUSED, REFUSED, id="erase-refused"),
    pytest.param(PrivacyKind.RECTIFY, None, KEPT_BECAUSE, id="rectify"),
])
async def test_an_erasure_or_correction_is_kept_with_its_reason_and_changes_neither_tables_nor_report(
        stream: FaustStream, engine: Engine, kit: Any, family: Family, kind: PrivacyKind, refused: str | None,
        reason: str) -> None:
    before, report = tables(engine), kit.report(START, END, STREAM_NOW)
    assert report.families is not None and before["kpi_closures"]
    _, _, raw = request(kind, [family.into], [family.child], refused)
    await stream._handle(on_topic(raw))
    await stream._handle(on_topic(raw))  # a replay
    (answer,) = answers(engine)
    assert answer.kind is kind and answer.part is None
    (kept,) = answer.classes
    assert (kept.retention_class, kept.action, kept.reason) == ("kpi_read_model", ClassAction.KEPT, reason)
    assert kept.records > 0
    assert tables(engine) == before
    assert kit.report(START, END, STREAM_NOW) == report


@pytest.mark.parametrize("poison", [
    pytest.param(b"{not json", id="not-json"),
    pytest.param(encode({**fresh(example(PrivacyRequested.EVENT_TYPE)), "data": {"kind": "erase"}}), id="no-ids"),
    pytest.param(encode({**fresh(example(PrivacyRequested.EVENT_TYPE)), "source": "urn:frontdoor:outcomes"}),
                 id="not-from-contacts"),
])
async def test_a_poison_privacy_record_is_dead_lettered_once_and_the_valid_one_after_it_answered(
        stream: FaustStream, engine: Engine, poison: bytes) -> None:
    _, asked, raw = request(PrivacyKind.ACCESS, [uuid.uuid4()], [])
    await stream._handle(on_topic(poison, raw))
    await stream._handle(on_topic(poison))  # a replay
    assert dead_letters(engine) == [0]
    assert [a.request_id for a in answers(engine)] == [asked.request_id]
    counted = sum(sample.value for metric in stream.metrics.dead_lettered.collect() for sample in metric.samples
                  if sample.name.endswith("_total"))
    assert counted == 1
