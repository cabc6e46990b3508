"""Privacy requests (privacy.requests.v1) answered by the allocation service,
through its own routes and the kit's consumer on SQLite and PostgreSQL: an
access request's answer (one, whatever is replayed) exports the family's
cases with their timelines, followed through a merge, and the reads of
them, sealed so that only the request's private key opens it; an erasure or
a correction is answered KEPT with its reason and changes nothing; a poison
request is dead-lettered and answered by nobody."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from hostile_records import consumer_record, dead_lettered
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from allocation import handlers, subscriptions
from allocation.domain.calendar import DEFAULT_TARGET, england_and_wales_bank_holidays
from allocation.domain.sla import DEFAULT_SLA
from allocation.domain.triggers import NfaReviewPolicy, Trigger
from allocation.metrics import Metrics
from allocation.models import CaseRow, FamilyAlias, OutboxEvent, ReadEntry, TimelineEntry
from frontdoor_contracts import retention
from frontdoor_contracts.envelope import encode_event, new_event
from frontdoor_contracts.errors import parse_event
from frontdoor_contracts.personal import SealBroken, new_reply_keys, open_reply
from frontdoor_contracts.privacy import ClassAction, PrivacyAnswered, PrivacyKind, PrivacyRequested, reply_context
from frontdoor_contracts.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import for_writing
from frontdoor_platform.privacy import NOTHING_PERSONAL

RULES = handlers.Rules(DEFAULT_TARGET, england_and_wales_bank_holidays(), DEFAULT_SLA, NfaReviewPolicy(),
                       "urn:frontdoor:allocation")
DECIDED = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
ASKED = DECIDED + timedelta(days=30)
REFUSED = "A child has a safeguarding referral: the records are kept (case records)."


class Family:
    """Family `into` with a case; family `merged`, with a case of its own, merged into it; a stranger family
    with a case; reads of all three."""

    def __init__(self, engine: Engine):
        self.into, self.merged, self.stranger = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.children = (uuid.uuid4(), uuid.uuid4())
        with Session(for_writing(engine)) as session:
            _, first = handlers.on_trigger(session, self._trigger(self.into, self.children[0]), RULES, DECIDED)
            _, second = handlers.on_trigger(session, self._trigger(self.merged, self.children[1]), RULES, DECIDED)
            _, other = handlers.on_trigger(session, self._trigger(self.stranger, uuid.uuid4()), RULES, DECIDED)
            handlers.allocate(session, first.case_id, RULES, DECIDED + timedelta(days=1), lead_agency_id="school-9",
                              agency_kind=AgencyKind.SCHOOL, lead_professional_ref="staff-7",
                              allocated_by="coordinator", at_meeting=True)
            handlers.on_families_merged(session, self.into, [self.merged], DECIDED + timedelta(days=2))
            self.cases, self.other_case = {first.case_id, second.case_id}, other.case_id
            session.commit()
        self.reads = {f"case:{first.case_id}", f"family:{self.into}", f"family:{self.merged}"}
        with Session(engine) as session:
            for i, record in enumerate(sorted(self.reads | {f"case:{other.case_id}", f"family:{self.stranger}"})):
                session.add(ReadEntry(read_id=uuid.uuid4(), at=DECIDED + timedelta(days=3, minutes=i),
                                      reader="client:board", route="GET /v1/cases/{case_id}", record=record))
            session.commit()

    @staticmethod
    def _trigger(family: uuid.UUID, child: uuid.UUID) -> Trigger:
        return Trigger(source=CaseSource.EARLY_HELP_DECISION, event_source="urn:frontdoor:contacts",
                       event_id=str(uuid.uuid4()), family_id=family, occurred_at=DECIDED, child_ids=(child,),
                       contact_id=uuid.uuid4())


@pytest.fixture
def family(engine: Engine) -> Family:
    return Family(engine)


def consumer(engine: Engine) -> BatchConsumer:
    return BatchConsumer(bootstrap="unused:9092", group="g", client_id="t",
                         routes=subscriptions.routes(RULES, Metrics(), retention.default()), engine=engine,
                         outbox=OutboxEvent, metrics=Metrics())


def request(kind: PrivacyKind, families: list[uuid.UUID], refused: str | None = None,
            source: str = "urn:frontdoor:contacts") -> tuple[Any, PrivacyRequested, bytes]:
    private, public = new_reply_keys()
    data = PrivacyRequested(request_id=uuid.uuid4(), kind=kind, requested_by="dpo-admin", requested_at=ASKED,
                            reply_key=public, person_ids=[uuid.uuid4()], family_ids=families,
                            contact_ids=[uuid.uuid4()], erasure_refused=refused)
    return private, data, encode_event(new_event(data, source=source, time=ASKED))


def record(raw: bytes, offset: int = 0) -> ConsumerRecord[bytes, bytes]:
    return consumer_record(PRIVACY_REQUESTS.name, offset, raw)


def answers(engine: Engine) -> list[PrivacyAnswered]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == PRIVACY_REPLIES.name)
                            .order_by(col(OutboxEvent.id))).all()
    return [parse_event(row.payload, PrivacyAnswered).data for row in rows]


def tables(engine: Engine) -> list[Any]:
    with Session(engine) as session:
        return [row.model_dump() for table in (CaseRow, TimelineEntry, FamilyAlias)
                for row in session.exec(select(table)).all()]


def test_an_access_request_is_answered_once_with_the_familys_cases_and_their_reads_sealed_to_the_requester(
        engine: Engine, family: Family) -> None:
    private, asked, raw = request(PrivacyKind.ACCESS, [family.merged])  # the merged id: followed to its family
    first = consumer(engine).apply_batch([record(raw)])
    assert not first.dead_lettered
    again = consumer(engine).apply_batch([record(raw, 1), record(raw, 0)])  # a replay, twice
    assert not again.dead_lettered
    (answer,) = answers(engine)
    assert (answer.request_id, answer.service, answer.kind) == (asked.request_id, "allocation", PrivacyKind.ACCESS)
    classes = {c.retention_class: c for c in answer.classes}
    assert set(classes) == {"case_records", "read_log"}
    assert classes["case_records"].action is ClassAction.EXPORTED
    assert classes["case_records"].records == 3  # two cases and the merge
    assert (classes["read_log"].action, classes["read_log"].records) == (ClassAction.EXPORTED, 3)

    assert answer.part is not None
    document = open_reply(private, answer.part, reply_context(asked.request_id, "allocation"))
    records = document["classes"]["case_records"]
    cases = {r["case_id"]: r for r in records if r["table"] == "cases"}
    assert set(cases) == {str(c) for c in family.cases}
    assert {r["family_id"] for r in cases.values()} == {str(family.into)}
    allocated = next(r for r in cases.values() if r["lead_agency_id"])
    assert (allocated["lead_professional_ref"], allocated["agency_kind"]) == ("staff-7", "school")
    assert "allocated" in [entry["kind"] for entry in allocated["timeline"]]
    assert {c for r in cases.values() for c in r["child_ids"]} == {str(c) for c in family.children}
    (merge,) = [r for r in records if r["table"] == "family_aliases"]
    assert (merge["merged_family_id"], merge["family_id"]) == (str(family.merged), str(family.into))
    assert {read["record"] for read in document["reads"]} == family.reads
    text = json.dumps(document)
    assert str(family.other_case) not in text and str(family.stranger) not in text

    other, _ = new_reply_keys()
    with pytest.raises(SealBroken):
        open_reply(other, answer.part, reply_context(asked.request_id, "allocation"))
    with pytest.raises(SealBroken):  # bound to this request and service
        open_reply(private, answer.part, reply_context(asked.request_id, "outcomes"))


def test_a_request_about_a_family_never_seen_holds_nothing(engine: Engine, family: Family) -> None:
    _, _, raw = request(PrivacyKind.ACCESS, [uuid.uuid4()])
    consumer(engine).apply_batch([record(raw)])
    (answer,) = answers(engine)
    assert {(c.retention_class, c.action, c.records) for c in answer.classes} == {
        ("case_records", ClassAction.NONE_HELD, 0), ("read_log", ClassAction.NONE_HELD, 0)}


@pytest.mark.parametrize(("kind", "refused", "reason"), [
    pytest.param(PrivacyKind.ERASE, None, NOTHING_PERSONAL, id="erase"),
    pytest.param(PrivacyKind.ERASE, REFUSED, REFUSED, id="erase-refused"),
    pytest.param(PrivacyKind.RECTIFY, None, NOTHING_PERSONAL, id="rectify"),
])
def test_an_erasure_or_correction_is_answered_kept_with_its_reason_and_changes_nothing(
        engine: Engine, family: Family, kind: PrivacyKind, refused: str | None, reason: str) -> None:
    before = tables(engine)
    _, _, raw = request(kind, [family.into], refused)
    consumer(engine).apply_batch([record(raw)])
    consumer(engine).apply_batch([record(raw)])
    (answer,) = answers(engine)
    assert answer.kind is kind and answer.part is None
    assert [(c.retention_class, c.action, c.records, c.reason) for c in answer.classes] == [
        ("case_records", ClassAction.KEPT, 3, reason)]
    assert tables(engine) == before


@pytest.mark.parametrize("raw", [
    pytest.param(b"{", id="not-json"),
    pytest.param(b'{"specversion": "1.0", "id": "x", "source": "urn:frontdoor:contacts", '
                 b'"type": "uk.gov.frontdoor.privacy.requested.v1", "data": {"kind": "access"}}', id="no-request-id"),
])
def test_a_poison_privacy_record_is_dead_lettered_and_answered_by_nobody(engine: Engine, family: Family,
                                                                        raw: bytes) -> None:
    result = consumer(engine).apply_batch([record(raw)])
    assert [topic for topic, _ in result.dead_lettered] == [PRIVACY_REQUESTS.name]
    assert 0 in dead_lettered(engine, OutboxEvent, PRIVACY_REQUESTS.name)
    assert answers(engine) == []


def test_a_request_another_service_claims_to_have_made_is_dead_lettered(engine: Engine, family: Family) -> None:
    _, _, raw = request(PrivacyKind.ERASE, [family.into], source="urn:frontdoor:notifications")
    consumer(engine).apply_batch([record(raw)])
    assert dead_lettered(engine, OutboxEvent, PRIVACY_REQUESTS.name) == {0: "source_not_allowed"}
    assert answers(engine) == []
