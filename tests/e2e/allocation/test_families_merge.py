"""Two families linked by a new contact become one, with one open case:
contacts and allocation, each its own process, on a real broker of their
own.

Not the session's broker: a contacts service another test left running
there (the session-scoped `contacts_service` of tests/e2e/contacts) would
record the same contacts from frontdoor.contacts.v1 in a people index of
its own and publish its own decided and merged events, with the same event
ids (derived from the contact id) and other family ids; allocation keeps
whichever arrives first, and the topics carry two merges of one contact.
On a broker of its own the test sees only what its two services did,
whatever ran before it."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from allocation_e2e_kit import AllocationService, start_allocation, stop_allocation
from cloudevents.core.bindings.kafka import KafkaMessage, from_structured_event
from contacts_e2e_kit import ContactsService, Kafka, data_of, start_contacts, stop
from contacts_testkit import child, contact_data, nhs_number

from frontdoor_stack.kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from frontdoor_stack.topics import ensure_topics

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-merge"), port=free_port(), controller_port=free_port())
    with broker:
        run_coroutine_in_thread(ensure_topics(broker.bootstrap))
        yield broker.bootstrap


@pytest.fixture
def allocation_service(own_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllocationService]:
    service = start_allocation(tmp_path_factory.mktemp("allocation-merge"), own_broker)
    yield service
    stop_allocation(service)


async def submit(contacts: ContactsService, body: dict[str, object]) -> str:
    response = httpx.post(f"{contacts.url}/v1/contacts", json=body, headers=contacts.headers(), timeout=30)
    assert response.status_code == 202, response.text
    contact_id: str = response.json()["contact_id"]
    return contact_id


async def decide_early_help(contacts: ContactsService, contact_id: str) -> None:
    decision = {"decision": "early_help", "level_of_need": 3, "rationale": "support", "decided_by": "mash-1"}
    for _ in range(60):  # 404 until the contact is recorded from the topic
        answer = httpx.post(f"{contacts.url}/v1/contacts/{contact_id}/decision", json=decision,
                            headers=contacts.headers(), timeout=30)
        if answer.status_code == 202:
            return
        assert answer.status_code == 404, answer.text
        await asyncio.sleep(0.5)
    raise AssertionError("the contact was never recorded")


async def test_two_families_linked_by_a_contact_have_one_open_case(
        own_broker: str, allocation_service: AllocationService, tmp_path: Path) -> None:
    kafka = Kafka(own_broker)
    process, contacts = start_contacts(tmp_path, own_broker)
    try:
        seed = random.randrange(10**6, 10**7)
        amy, ben = nhs_number(seed), nhs_number(seed + 1000)
        first = await submit(contacts, contact_data(children=[child(ref="a", nhs_number=amy)]))
        await decide_early_help(contacts, first)
        second = await submit(contacts, contact_data(children=[child(ref="b", nhs_number=ben)]))
        await decide_early_help(contacts, second)
        opened = await kafka.collect("allocation.case-opened.v1",
                                     lambda r: data_of(r).get("contact_id") in (first, second),
                                     until=lambda found: len(found) >= 2)
        families = {data_of(r)["family_id"] for r in opened}
        assert len(opened) == 2 and len(families) == 2
        for record in [*opened]:  # allocation's records too: structured CloudEvents the official SDK reads
            headers = dict(record.headers or ())
            assert headers["content-type"] == b"application/cloudevents+json"
            event = from_structured_event(KafkaMessage(headers=headers, key=record.key, value=record.value or b""))
            assert event.get_type() == "uk.gov.frontdoor.allocation.case-opened.v1"
            assert event.get_source() == "urn:frontdoor:allocation"
        linking = await submit(contacts, contact_data(children=[child(ref="a", nhs_number=amy),
                                                                child(ref="b", nhs_number=ben)]))
        merged = await kafka.collect("contacts.families-merged.v1",
                                     lambda r: data_of(r).get("contact_id") == linking)
        assert len(merged) == 1
        remaining = data_of(merged[0])["family_id"]
        assert {remaining, *data_of(merged[0])["merged_family_ids"]} == families
        board: list[dict[str, object]] = []
        for _ in range(60):
            board = [c for c in httpx.get(f"{allocation_service.url}/v1/cases",
                                          headers=allocation_service.headers(allocation_service.coordinator)
                                          ).json()["cases"] if c["family_id"] in families]
            if len(board) == 1:
                break
            await asyncio.sleep(0.5)
        assert len(board) == 1 and board[0]["family_id"] == remaining  # one family, one open case
        first_case = next(r for r in opened if data_of(r)["contact_id"] == first)
        assert board[0]["case_id"] == data_of(first_case)["case_id"]  # the earlier start keeps the clock
    finally:
        stop(process)
