"""Partner data matched to people on a real database (SQLite and
PostgreSQL), through the consumer's routes as the service runs them: the
fact out through the outbox, without identifiers or names; households by
UPRN; replacements, redeliveries and refusals."""

from __future__ import annotations

import itertools
import json
import uuid
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from aiokafka import ConsumerRecord
from contacts_testkit import NOW, ContactFactory, child, nhs_number, partner_person, partner_record
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts import store, subscriptions
from contacts.domain.partner_facts import person_facts
from contacts.domain.people import demographic_key
from contacts.metrics import Metrics
from contacts.models import OutboxEvent, PartnerRecordApplied, Person
from contacts.settings import Settings
from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_platform.consumer import BatchConsumer, BatchResult
from frontdoor_platform.outbox import stored_headers

FACTS = "contacts.partner-fact-matched.v1"
CONTACTS = "frontdoor.contacts.v1"
ATTENDANCE, EMPLOYMENT, HEALTH = "partners.attendance.v1", "partners.employment.v1", "partners.health.v1"
UPRN = "310012345678"
OFFSETS = itertools.count()


def consume(engine: Engine, *events: tuple[str, CloudEvent[Any] | bytes], metrics: Metrics | None = None,
            now: datetime = NOW) -> BatchResult:
    """One consumed batch, as the service's consumer applies it."""
    records = [ConsumerRecord(topic, 0, next(OFFSETS), 0, 0, None,
                              event if isinstance(event, bytes) else encode_event(event), None, 0, 0, [])
               for topic, event in events]
    metrics = metrics or Metrics()
    consumer = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t",
                             routes=subscriptions.routes(Settings(), metrics), engine=engine, outbox=OutboxEvent,
                             metrics=metrics, clock=lambda: now)
    result = consumer.apply_batch(records)
    consumer._after_commit(result)  # what the loop runs once the batch is committed
    consumer._count(records, result, 0.0)
    return result


def facts(engine: Engine) -> list[dict[str, Any]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxEvent).where(OutboxEvent.topic == FACTS).order_by(col(OutboxEvent.id))).all()
        return [{"key": row.key, "raw": row.payload, **json.loads(row.payload)["data"]} for row in rows]


def person(engine: Engine, nhs: str) -> Person:
    with Session(engine) as session:
        found = store.person_by_nhs(session, nhs)
        assert found is not None
        return found


def test_a_record_for_a_child_known_by_nhs_number_is_that_childs_fact_and_family(
        engine: Engine, make_contact: ContactFactory) -> None:
    nhs, upn = nhs_number(810001), "H801200001001"
    contact = make_contact(children=[child(nhs_number=nhs, given_name="Quillonchild", date_of_birth="2015-09-03")])
    assert consume(engine, (CONTACTS, contact)).dead_lettered == []
    known = person(engine, nhs)
    record = partner_record(ATTENDANCE, person=partner_person(
        nhs_number=nhs, upn=upn, given_name="Quillonchild", family_name="Zabriskietest", date_of_birth="2015-09-03",
        postcode="RG9 9ZZ", uprn=UPRN))
    assert consume(engine, (ATTENDANCE, record)).dead_lettered == []
    [fact] = facts(engine)
    assert (fact["person_id"], fact["family_id"]) == (str(known.id), str(known.family_id))
    assert fact["key"] == str(known.family_id)  # keyed by family, as the topic says
    assert fact["is_child"] is True and fact["person_created"] is False
    assert fact["measure"]["dataset"] == "attendance" and fact["measure"]["unauthorised_absences"] == 31
    for secret in (nhs, upn, "Quillonchild", "Zabriskietest", "2015-09-03", "RG9 9ZZ", UPRN, record.data.record_ref):
        assert secret.encode() not in fact["raw"]
    after = person(engine, nhs)
    assert (after.upn, after.uprn) == (upn, UPRN)  # what the record adds, as a contact would


def test_a_new_person_is_created_and_matched_again_by_name_date_of_birth_and_postcode(engine: Engine) -> None:
    sam = partner_person(given_name="Samtestperson", date_of_birth="1988-05-14", postcode="RG2 2BB")
    first = partner_record(EMPLOYMENT, person=sam)
    again = partner_record(HEALTH, person={**sam, "given_name": "SAMTESTPERSON", "postcode": "rg22bb"})
    assert consume(engine, (EMPLOYMENT, first)).dead_lettered == []
    assert consume(engine, (HEALTH, again)).dead_lettered == []
    created, matched = facts(engine)
    assert created["person_created"] is True and matched["person_created"] is False
    assert created["person_id"] == matched["person_id"] and created["family_id"] == matched["family_id"]
    assert created["is_child"] is False
    assert created["fact_id"] != matched["fact_id"]
    with Session(engine) as session:
        made = session.get(Person, uuid.UUID(created["person_id"]))
        assert made is not None and made.kind == "adult" and made.family_id == uuid.UUID(created["family_id"])


def test_two_adults_at_one_uprn_are_one_family_and_another_uprn_is_another(engine: Engine) -> None:
    one = partner_record(EMPLOYMENT, person=partner_person(uprn=UPRN))
    two = partner_record(EMPLOYMENT, person=partner_person(date_of_birth="1990-01-01", uprn=UPRN))
    elsewhere = partner_record(EMPLOYMENT, person=partner_person(uprn="310099999999"))
    consume(engine, (EMPLOYMENT, one))
    consume(engine, (EMPLOYMENT, two), (EMPLOYMENT, elsewhere))
    first, second, third = facts(engine)
    assert first["person_id"] != second["person_id"]
    assert first["family_id"] == second["family_id"] != third["family_id"]
    assert all(f["person_created"] for f in (first, second, third))


def test_two_people_at_one_uprn_in_one_batch_are_one_family(engine: Engine) -> None:
    one = partner_record(EMPLOYMENT, person=partner_person(uprn=UPRN))
    two = partner_record(HEALTH, person=partner_person(date_of_birth="1991-02-02", uprn=UPRN))
    consume(engine, (EMPLOYMENT, one), (HEALTH, two))
    first, second = facts(engine)
    assert first["person_id"] != second["person_id"] and first["family_id"] == second["family_id"]


def test_people_matched_into_a_family_keep_it_and_a_new_person_at_the_uprn_joins_the_longest_known(
        engine: Engine, make_contact: ContactFactory) -> None:
    amy, mum = nhs_number(820001), nhs_number(820002)
    day = timedelta(days=1)
    consume(engine, (CONTACTS, make_contact(children=[child(nhs_number=amy)])), now=NOW - 3 * day)
    contact_family = person(engine, amy).family_id
    consume(engine, (EMPLOYMENT, partner_record(EMPLOYMENT, person=partner_person(nhs_number=mum, uprn=UPRN))),
            now=NOW - 2 * day)
    data_family = person(engine, mum).family_id
    assert data_family != contact_family  # nobody was known at the UPRN yet: a family identified in data
    # Amy's record gives the same UPRN: she keeps the family her contact made (partner data never merges)...
    consume(engine, (ATTENDANCE, partner_record(ATTENDANCE, person=partner_person(
        nhs_number=amy, date_of_birth="2016-04-01", uprn=UPRN))), now=NOW - day)
    assert person(engine, amy).family_id == contact_family
    assert facts(engine)[-1]["family_id"] == str(contact_family)
    # ...an unknown person at that UPRN joins the family of the person known the longest there (Amy)...
    consume(engine, (HEALTH, partner_record(HEALTH, person=partner_person(date_of_birth="1970-01-01", uprn=UPRN))))
    assert facts(engine)[-1]["family_id"] == str(contact_family)
    # ...and Mum, matched again at the UPRN, stays in hers.
    consume(engine, (HEALTH, partner_record(HEALTH, person=partner_person(nhs_number=mum, uprn=UPRN))))
    assert facts(engine)[-1]["family_id"] == str(data_family) == str(person(engine, mum).family_id)


@pytest.mark.parametrize("careful", [False, True], ids=["batch-lookups", "careful-rerun"])
def test_the_longest_known_at_a_uprn_decides_however_the_batch_found_them(
        engine: Engine, make_contact: ContactFactory, careful: bool) -> None:
    amy = nhs_number(850001)
    day = timedelta(days=1)
    consume(engine, (EMPLOYMENT, partner_record(EMPLOYMENT, person=partner_person(uprn=UPRN))), now=NOW - 3 * day)
    oldest_family = facts(engine)[0]["family_id"]
    consume(engine, (CONTACTS, make_contact(children=[child(nhs_number=amy)])), now=NOW - 2 * day)
    consume(engine, (ATTENDANCE, partner_record(ATTENDANCE, person=partner_person(
        nhs_number=amy, date_of_birth="2016-04-01", uprn=UPRN))), now=NOW - day)
    assert str(person(engine, amy).family_id) != oldest_family  # two families known at the UPRN now
    # Amy, named in this batch, is loaded by her NHS number before the UPRN's people are.
    poison = [(HEALTH, partner_record(HEALTH, person=partner_person(postcode=None)))] if careful else []
    consume(engine, (HEALTH, partner_record(HEALTH, person=partner_person(
        nhs_number=amy, date_of_birth="2016-04-01", uprn=UPRN))), *poison,
        (HEALTH, partner_record(HEALTH, person=partner_person(date_of_birth="1971-01-01", uprn=UPRN))))
    assert facts(engine)[-1]["family_id"] == oldest_family


def test_a_replacement_record_keeps_its_fact_id_and_a_redelivery_publishes_nothing(engine: Engine) -> None:
    first = partner_record(EMPLOYMENT, record_ref="DWP-0007781")
    replacement = partner_record(EMPLOYMENT, person=first.data.person.model_dump(), record_ref="DWP-0007781",
                                 status="employed", out_of_work_benefit=False)
    metrics = Metrics()
    consume(engine, (EMPLOYMENT, first), (EMPLOYMENT, first), metrics=metrics)  # a producer's retry in the batch
    consume(engine, (EMPLOYMENT, first), metrics=metrics)  # redelivered later
    consume(engine, (EMPLOYMENT, replacement), metrics=metrics)
    consume(engine, (EMPLOYMENT, replacement), metrics=metrics)
    original, replaced = facts(engine)
    assert original["fact_id"] == replaced["fact_id"]
    assert original["person_id"] == replaced["person_id"]
    assert replaced["measure"]["status"] == "employed"
    assert original["person_created"] is True and replaced["person_created"] is True  # created from this record
    with Session(engine) as session:
        assert len(session.exec(select(PartnerRecordApplied)).all()) == 2
        assert len(session.exec(select(Person)).all()) == 1
    sample = metrics.registry.get_sample_value
    assert sample("frontdoor_contacts_duplicates_total", {"topic": EMPLOYMENT}) == 3
    assert sample("frontdoor_contacts_partner_records_total", {"dataset": "employment", "outcome": "created"}) == 1
    assert sample("frontdoor_contacts_partner_records_total", {"dataset": "employment", "outcome": "matched"}) == 1


def dead_letter(engine: Engine, topic: str) -> dict[str, str]:
    with Session(engine) as session:
        [row] = session.exec(select(OutboxEvent).where(OutboxEvent.topic == topic + ".dlq")).all()
        return {name: value.decode() for name, value in stored_headers(row)}


def test_identifiers_of_two_people_are_dead_lettered_naming_the_field_and_the_batch_goes_on(
        engine: Engine, make_contact: ContactFactory) -> None:
    amy, ben, ben_upn = nhs_number(830001), nhs_number(830002), "H801200001001"
    consume(engine, (CONTACTS, make_contact(children=[child("a", nhs_number=amy),
                                                      child("b", nhs_number=ben, upn=ben_upn)])))
    conflicting = partner_record(HEALTH, person=partner_person(nhs_number=amy, upn=ben_upn))
    fine = partner_record(HEALTH, person=partner_person(nhs_number=amy))
    metrics = Metrics()
    result = consume(engine, (HEALTH, conflicting), (HEALTH, fine), metrics=metrics)
    assert result.dead_lettered == [(HEALTH, "identifiers_conflict")]
    headers = dead_letter(engine, HEALTH)
    assert headers["dlq.reason"] == "identifiers_conflict" and headers["dlq.field"] == "data.person.upn"
    assert not any(secret in value for value in headers.values() for secret in (amy, ben_upn, "Testpartner"))
    [fact] = facts(engine)  # the good record after it is matched
    assert fact["person_id"] == str(person(engine, amy).id)
    assert person(engine, amy).upn is None  # the conflict changed nothing
    assert metrics.registry.get_sample_value("frontdoor_contacts_partner_records_total",
                                             {"dataset": "health", "outcome": "dead_lettered"}) == 1


def test_unmatchable_ambiguous_and_before_birth_records_are_dead_lettered(engine: Engine) -> None:
    twin = partner_person(given_name="Twintest", date_of_birth="1980-01-01", postcode="RG3 3CC")
    with Session(engine) as session:  # two people the index already cannot tell apart (as contacts allow)
        for _ in range(2):
            session.add(Person(id=uuid.uuid4(), kind="adult", given_name="Twintest", family_name="Example",
                               date_of_birth=date(1980, 1, 1), postcode="RG3 3CC", created_at=NOW,
                               family_id=uuid.uuid4(), demographic_key=demographic_key(
                                   person_facts(partner_record(person=twin).data.person))))
        session.commit()
    cases = {
        "unmatchable": (EMPLOYMENT, partner_record(EMPLOYMENT, person=partner_person(postcode=None))),
        "ambiguous_match": (EMPLOYMENT, partner_record(EMPLOYMENT, person=twin)),
        "invalid_data": (ATTENDANCE, partner_record(ATTENDANCE, person=partner_person(date_of_birth="2016-01-01"),
                                                    term_starts_on="2015-09-03")),
    }
    result = consume(engine, *cases.values())
    assert sorted(reason for _, reason in result.dead_lettered) == sorted(cases)
    assert facts(engine) == []
    assert dead_letter(engine, ATTENDANCE)["dlq.field"] == "data.measure.term_starts_on"


def test_a_malformed_record_is_dead_lettered_with_its_field(engine: Engine) -> None:
    document = json.loads(encode_event(partner_record(ATTENDANCE)))
    document["data"]["measure"]["unauthorised_absences"] = 400
    result = consume(engine, (ATTENDANCE, json.dumps(document).encode()))
    assert result.dead_lettered == [(ATTENDANCE, "invalid_data")]
    assert dead_letter(engine, ATTENDANCE)["dlq.field"] == "data.measure"


@pytest.mark.parametrize("careful", [False, True], ids=["batch-lookups", "careful-rerun"])
def test_a_contact_and_records_for_its_household_in_one_batch_match_each_other(
        engine: Engine, make_contact: ContactFactory, careful: bool) -> None:
    nhs = nhs_number(840001)
    contact = make_contact(children=[child(nhs_number=nhs, date_of_birth="2016-04-01")])
    record = partner_record(ATTENDANCE, person=partner_person(nhs_number=nhs, date_of_birth="2016-04-01",
                                                              uprn=UPRN))
    neighbour = partner_record(EMPLOYMENT, person=partner_person(uprn=UPRN))
    # A record refused by its handler makes the consumer apply the batch again, record by record, with
    # savepoints, asking the database instead of the batch's look-ups.
    poison = [(EMPLOYMENT, partner_record(EMPLOYMENT, person=partner_person(postcode=None)))] if careful else []
    result = consume(engine, (CONTACTS, contact), (ATTENDANCE, record), *poison, (EMPLOYMENT, neighbour),
                     (ATTENDANCE, record))  # the last one: redelivered within the batch
    assert result.dead_lettered == ([(EMPLOYMENT, "unmatchable")] if careful else [])
    child_fact, neighbour_fact = facts(engine)
    known = person(engine, nhs)
    assert child_fact["person_id"] == str(known.id) and child_fact["person_created"] is False
    assert neighbour_fact["family_id"] == child_fact["family_id"] == str(known.family_id)
    with Session(engine) as session:
        assert len(session.exec(select(Person)).all()) == 2


def test_a_record_about_someone_who_was_a_child_then_is_a_child_fact(engine: Engine) -> None:
    young = partner_person(date_of_birth="2007-10-01")
    as_child = partner_record(OFFENDING := "partners.offending.v1", person=young, occurred_on="2025-09-30",
                              youth=True)
    as_adult = partner_record(OFFENDING, person=partner_person(date_of_birth="2007-10-01"), occurred_on="2025-10-01")
    consume(engine, (OFFENDING, as_child), (OFFENDING, as_adult))
    child_fact, adult_fact = facts(engine)
    assert child_fact["is_child"] is True and adult_fact["is_child"] is False
    with Session(engine) as session:
        kinds = {p.kind for p in session.exec(select(Person)).all()}
    assert kinds == {"child", "adult"}
