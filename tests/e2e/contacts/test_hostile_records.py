"""Nothing a sender puts on a topic stops the contacts service. On a broker
of its own (the valid-looking mutations record contacts no other test
expects), the hostile corpus (tests/hostile_records.py) goes onto every topic
the service consumes from outside: frontdoor.contacts.v1,
frontdoor.decisions.v1 and the four partner topics; then one valid contact,
its decision and a partner record for its child. Each takes effect within
seconds, every fixed hostile record is on its topic's dead-letter topic, and
/readyz answers 200 all along."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of, header, start_contacts, stop
from contacts_testkit import child, decision_event, make_contact, nhs_number, partner_person, partner_record
from hostile_records import FIXED, ReadyWatch, hostile_for, publish_all

from frontdoor_contracts.contacts import contact_id_for
from frontdoor_stack.kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from frontdoor_stack.topics import ensure_topics

pytestmark = pytest.mark.e2e
OUTSIDE = ["frontdoor.contacts.v1", "frontdoor.decisions.v1", "partners.attendance.v1", "partners.offending.v1",
           "partners.employment.v1", "partners.health.v1"]


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka-hostile"), port=free_port(), controller_port=free_port())
    with broker:
        run_coroutine_in_thread(ensure_topics(broker.bootstrap))
        yield broker.bootstrap


@pytest.fixture(scope="module")
def service(own_broker: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContactsService]:
    process, running = start_contacts(tmp_path_factory.mktemp("contacts-hostile"), own_broker)
    yield running
    stop(process)


async def test_hostile_records_on_every_outside_topic_then_valid_ones_take_effect(
        own_broker: str, service: ContactsService) -> None:
    kafka = Kafka(own_broker)
    hostile = [(topic, raw) for topic in OUTSIDE for raw in hostile_for(topic)]
    nhs = nhs_number(random.randrange(10_000, 99_999))
    contact = make_contact(children=[child("c1", nhs_number=nhs, given_name="Hostiletest", family_name="Corpustest",
                                           date_of_birth="2014-05-06")])
    contact_id = contact_id_for(contact.source, contact.id)
    with ReadyWatch(service.url) as watch:
        started = time.monotonic()
        await publish_all(own_broker, hostile)
        await kafka.publish_event("frontdoor.contacts.v1", contact, key=contact.id)
        [recorded] = await kafka.collect("contacts.recorded.v1",
                                         lambda r: data_of(r).get("contact_id") == str(contact_id),
                                         timeout=120, settle=0)
        decision = decision_event(contact_id, "early_help", "2026-03-02T10:00:00Z")
        attendance = partner_record("partners.attendance.v1", person=partner_person(
            nhs_number=nhs, given_name="Hostiletest", family_name="Corpustest", date_of_birth="2014-05-06"))
        await kafka.publish_event("frontdoor.decisions.v1", decision, key=str(contact_id))
        await kafka.publish_event("partners.attendance.v1", attendance, key=attendance.data.record_ref)
        [decided] = await kafka.collect("contacts.decided.v1",
                                        lambda r: data_of(r).get("contact_id") == str(contact_id), timeout=60,
                                        settle=0)
        family_id = data_of(recorded)["family_id"]
        facts = await kafka.collect("contacts.partner-fact-matched.v1", lambda r: r.key == family_id.encode(),
                                    timeout=60, settle=0)
        took = time.monotonic() - started
        dead = {topic: await kafka.collect(f"{topic}.dlq", lambda r: True,
                                           until=lambda found, t=topic: len(found) >= len(FIXED), timeout=60,
                                           settle=0.5)
                for topic in OUTSIDE}
    print(f"\n{len(hostile)} hostile records on {len(OUTSIDE)} topics; the valid contact, decision and partner "
          f"record took effect {took:.1f} s after the first hostile record; /readyz polled {watch.polls} times")
    assert data_of(decided)["decision"] == "early_help" and len(facts) == 1
    assert watch.not_ready == 0 and watch.polls > 0
    for topic, records in dead.items():
        offsets_dead = {header(r, "dlq.offset") for r in records}
        assert len(offsets_dead) >= len(FIXED), topic
        assert all(header(r, "dlq.reason") for r in records)
