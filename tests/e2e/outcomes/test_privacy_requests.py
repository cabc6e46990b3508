"""Privacy requests through the real broker: the outcomes service (its faust
worker) reads privacy.requests.v1 and answers each request once on
privacy.replies.v1, across a SIGKILL.

A family's contact, decision and case go through the stream, and a manager
reads the family's view. An access request is answered with the family's
picture and facts and that read, sealed to the request's key. Then the
worker is killed; while it is down the same request comes again, an erasure
request and a record that is no request at all. Restarted on its database
(and consumer group), it answers the erasure (the read model kept, with the
schedule's reason) and not the access request again, dead-letters the
poison, and its KPI report over the family's month is what it was.

The service runs with a source URI of its own (`urn:frontdoor:outcomes:<x>`),
so that another outcomes service on the session's broker that reads the same
requests cannot be mistaken for this one."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from outcomes_e2e_kit import (
    Out,
    OutcomesService,
    crash_outcomes,
    kpis,
    partitions_of,
    publish_all,
    read_topics,
    start_outcomes,
    stop_outcomes,
    until,
    without_generated_at,
)

from frontdoor_contracts import retention
from frontdoor_contracts.allocation import CaseAllocated, CaseOpened
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, DecidedChild, RecordedChild
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.personal import new_reply_keys, open_reply
from frontdoor_contracts.privacy import ClassAction, PrivacyAnswered, PrivacyKind, PrivacyRequested, reply_context
from frontdoor_contracts.topics import PRIVACY_REPLIES, PRIVACY_REQUESTS

pytestmark = pytest.mark.e2e
CONTACTS, ALLOCATION = "urn:frontdoor:contacts", "urn:frontdoor:allocation"
T = datetime(2011, 2, 7, 10, 0, tzinfo=UTC)  # a month no other test's events fall in
MONTH = (datetime(2011, 2, 1, tzinfo=UTC), datetime(2011, 3, 1, tzinfo=UTC))


class Family:
    def __init__(self) -> None:
        self.family_id, self.contact_id, self.case_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        self.children = [uuid.uuid4(), uuid.uuid4()]

    def events(self) -> list[Out]:
        recorded = ContactRecorded(contact_id=self.contact_id, family_id=self.family_id, referrer_source="school",
                                   channel="kafka", received_at=T,
                                   children=[RecordedChild(child_id=c) for c in self.children], adult_count=1,
                                   concerns=["neglect"], da_incident=False)
        decided = ContactDecided(contact_id=self.contact_id, family_id=self.family_id, decision="early_help",
                                 level_of_need=3, decided_at=T + timedelta(hours=3), referrer_source="school",
                                 concerns=["neglect"], referral=False, re_referral=False,
                                 children=[DecidedChild(child_id=c, referral=False, re_referral=False)
                                           for c in self.children])
        case: dict[str, Any] = dict(case_id=self.case_id, family_id=self.family_id, source="early_help_decision",
                                    started_at=decided.decided_at, due_at=decided.decided_at + timedelta(days=10))
        opened = CaseOpened(**case, opened_at=decided.decided_at, child_ids=self.children,
                            contact_id=self.contact_id, decision="early_help", level_of_need=3, concerns=["neglect"],
                            target_days=10, target_calendar="calendar_days")
        allocated = CaseAllocated(**case, allocated_at=T + timedelta(days=2), lead_agency_id="school-e2e",
                                  agency_kind="school", lead_professional_ref="lp-9", allocated_by="coordinator-1",
                                  at_meeting=True)
        return [Out("contacts.recorded.v1", str(self.contact_id), new_event(recorded, source=CONTACTS, time=T)),
                Out("contacts.decided.v1", str(self.contact_id),
                    new_event(decided, source=CONTACTS, time=decided.decided_at)),
                Out("allocation.case-opened.v1", str(self.case_id),
                    new_event(opened, source=ALLOCATION, time=opened.opened_at)),
                Out("allocation.case-allocated.v1", str(self.case_id),
                    new_event(allocated, source=ALLOCATION, time=allocated.allocated_at))]


def ask(kind: PrivacyKind, family: Family) -> tuple[Any, PrivacyRequested, Out]:
    private, public = new_reply_keys()
    data = PrivacyRequested(request_id=uuid.uuid4(), kind=kind, requested_by="e2e-dpo",
                            requested_at=datetime.now(UTC), reply_key=public, person_ids=[family.children[0]],
                            family_ids=[family.family_id], contact_ids=[family.contact_id])
    return private, data, Out(PRIVACY_REQUESTS.name, str(data.request_id), new_event(data, source=CONTACTS))


async def answers(bootstrap: str, source: str, request_id: uuid.UUID) -> list[PrivacyAnswered]:
    """This service's answers to the request on the reply topic now, each once: a record published again by
    the outbox relay (killed after the broker had it, before it marked the row published) is the same event,
    its id and its data (a second answer would have other data: its own time, its own sealed part)."""
    replies = await read_topics(bootstrap, [PRIVACY_REPLIES.name])
    found = {(r.value["id"], json.dumps(r.value["data"], sort_keys=True)): r.value["data"] for r in replies
             if r.value.get("source") == source and r.value["data"].get("request_id") == str(request_id)}
    return [PrivacyAnswered.model_validate(data) for data in found.values()]


def view_of(service: OutcomesService, family: Family) -> dict[str, Any] | None:
    """The family's view as a manager reads it (the read is logged), once the stream has its case."""
    response = httpx.get(f"{service.url}/v1/families/{family.family_id}", headers=service.headers(service.manager),
                         timeout=10)
    if response.status_code == 404:
        return None
    response.raise_for_status()
    view: dict[str, Any] = response.json()
    return view if [c["case_id"] for c in view["cases"]] == [str(family.case_id)] else None


def counted(service: OutcomesService) -> dict[str, Any] | None:
    """The KPI report over the family's month once it counts the family's contact, decision and allocation (the
    month is this test's alone); None until then."""
    report: dict[str, Any] = without_generated_at(kpis(service, *MONTH))
    seen = (report["contacts"]["total"] >= 1 and report["decisions"]["early_help"]["numerator"] >= 1
            and report["lead_professionals"]["allocations"] >= 1)
    return report if seen else None


async def test_requests_are_answered_once_across_a_sigkill_and_a_poison_request_dead_lettered(
        kafka_bootstrap: str, tmp_path: Path) -> None:
    source = f"urn:frontdoor:outcomes:e2e-{uuid.uuid4().hex[:8]}"
    service = start_outcomes(tmp_path, kafka_bootstrap, review_seconds=2.0,
                             settings={"OUTCOMES_SOURCE_URI": source})
    try:
        family = Family()
        await publish_all(kafka_bootstrap, family.events())
        await until(lambda: view_of(service, family), timeout=180, what="the family's view with its case")
        # The view shows the case (allocation.case-opened.v1); the contact, the decision and the allocation come
        # on topics of their own and may be applied a batch later: the report is read once it counts them all.
        before = await until(lambda: counted(service), timeout=120,
                             what="the KPI report counting the family's contact, decision and allocation")
        assert before["contacts"]["total"] >= 1 and before["decisions"]["early_help"]["numerator"] >= 1

        private, access, out = ask(PrivacyKind.ACCESS, family)
        await publish_all(kafka_bootstrap, [out])
        async def answered() -> list[PrivacyAnswered]:
            return await answers(kafka_bootstrap, source, access.request_id)

        (answer,) = await until(answered, timeout=120, what="the access request's answer")
        assert answer.part is not None and {c.retention_class: c.action for c in answer.classes} == {
            "kpi_read_model": ClassAction.EXPORTED, "read_log": ClassAction.EXPORTED}
        document = open_reply(private, answer.part, reply_context(access.request_id, "outcomes"))
        tables = Counter(r["table"] for r in document["classes"]["kpi_read_model"])
        assert tables["family_views"] == 1 and tables["kpi_contacts"] == 1 and tables["kpi_allocations"] == 1
        assert tables["kpi_decision_children"] == 2
        assert {(read["reader"], read["record"]) for read in document["reads"]} == {
            ("client:e2e-manager", f"family:{family.family_id}")}

        # Killed; meanwhile the same request again, an erasure and a record that is no request at all.
        crash_outcomes(service)
        _, erase, erase_out = ask(PrivacyKind.ERASE, family)
        poison_key = f"poison-{uuid.uuid4()}"
        await publish_all(kafka_bootstrap, [out, erase_out])
        await publish_raw(kafka_bootstrap, poison_key, b"{not a privacy request")
        service = start_outcomes(tmp_path, kafka_bootstrap, previous=service, review_seconds=2.0)

        async def erasure_answered() -> list[PrivacyAnswered]:
            return await answers(kafka_bootstrap, source, erase.request_id)

        async def dead_lettered() -> int:
            return await dead_letters(kafka_bootstrap, poison_key)

        (erased,) = await until(erasure_answered, timeout=180, what="the erasure request's answer after the restart")
        assert erased.part is None
        assert [(c.retention_class, c.action, c.reason) for c in erased.classes] == [
            ("kpi_read_model", ClassAction.KEPT, retention.default().of("kpi_read_model").kept_because)]
        assert await until(dead_lettered, timeout=120, what="the poison request dead-lettered") == 1
        assert len(await answered()) == 1  # never answered again (the same answer, if its record came twice)
        assert without_generated_at(kpis(service, *MONTH)) == before
    finally:
        stop_outcomes(service)


async def publish_raw(bootstrap: str, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(PRIVACY_REQUESTS.name, value, key=key.encode())
    finally:
        await producer.stop()


async def dead_letters(bootstrap: str, key: str) -> int:
    """How many records under `key` the privacy requests' dead-letter topic holds now (their bytes as sent: not
    JSON, so not `read_topics`)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, [f"{PRIVACY_REQUESTS.name}.dlq"])
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found, remaining = 0, {tp for tp in partitions if ends[tp] > 0}
        while remaining:
            for tp, records in (await consumer.getmany(*remaining, timeout_ms=1000)).items():
                found += sum(1 for r in records if r.key == key.encode() and r.offset < ends[tp])
            remaining = {tp for tp in remaining if await consumer.position(tp) < ends[tp]}
        return found
    finally:
        await consumer.stop()
