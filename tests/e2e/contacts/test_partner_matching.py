"""Partner data through the real broker: a contact makes a family known;
partner records for its child and for an unknown adult at the same UPRN
come out on contacts.partner-fact-matched.v1 as facts of that family,
without a name, NHS number or UPN; a record whose identifiers belong to two
people is dead-lettered naming the field."""

from __future__ import annotations

import json
import random
import uuid

import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of, header, metric
from contacts_testkit import child, make_contact, nhs_number, partner_person, partner_record
from contacts_testkit import upn as pupil_number

from frontdoor_contracts.contacts import contact_id_for

pytestmark = pytest.mark.e2e
FACTS, RECORDED = "contacts.partner-fact-matched.v1", "contacts.recorded.v1"
ATTENDANCE, EMPLOYMENT, HEALTH = "partners.attendance.v1", "partners.employment.v1", "partners.health.v1"
COUNTED = "frontdoor_contacts_partner_records_total"


async def test_records_for_a_known_child_and_an_unknown_adult_at_its_uprn_are_facts_of_its_family(
        kafka: Kafka, contacts_service: ContactsService) -> None:
    nhs, upn, sibling_upn = nhs_number(61_803_398), pupil_number(61_803_398), pupil_number(61_803_399)
    uprn = str(random.randrange(10**11, 10**12))
    names = ["Partnerchildtest", "Partneradulttest", "Householdtest"]
    contact = make_contact(children=[
        child("c1", nhs_number=nhs, given_name=names[0], family_name=names[2], date_of_birth="2015-09-03"),
        child("c2", upn=sibling_upn, date_of_birth="2013-01-20")])
    await kafka.publish_event("frontdoor.contacts.v1", contact, key=contact.id)
    contact_id = str(contact_id_for(contact.source, contact.id))
    [recorded] = await kafka.collect(RECORDED, lambda r: data_of(r).get("contact_id") == contact_id, settle=0)
    family_id, child_id = data_of(recorded)["family_id"], data_of(recorded)["children"][0]["child_id"]
    matched_before = metric(contacts_service, f'{COUNTED}{{dataset="attendance",outcome="matched"}}')
    created_before = metric(contacts_service, f'{COUNTED}{{dataset="employment",outcome="created"}}')

    school = partner_record(ATTENDANCE, person=partner_person(
        nhs_number=nhs, upn=upn, given_name=names[0], family_name=names[2], date_of_birth="2015-09-03",
        uprn=uprn))
    dwp = partner_record(EMPLOYMENT, person=partner_person(given_name=names[1], family_name=names[2], uprn=uprn))
    await kafka.publish_event(ATTENDANCE, school, key=school.data.record_ref)
    await kafka.publish_event(EMPLOYMENT, dwp, key=dwp.data.record_ref)
    await kafka.publish_event(EMPLOYMENT, dwp, key=dwp.data.record_ref)  # redelivered: one fact
    found = await kafka.collect(FACTS, lambda r: r.key == family_id.encode(), until=lambda f: len(f) >= 2)
    assert len(found) == 2
    by_person = {data_of(r)["person_id"]: data_of(r) for r in found}
    child_fact = by_person.pop(child_id)
    [adult_fact] = by_person.values()
    assert child_fact["family_id"] == adult_fact["family_id"] == family_id
    assert child_fact["is_child"] is True and child_fact["person_created"] is False
    assert child_fact["measure"]["dataset"] == "attendance"
    assert adult_fact["is_child"] is False and adult_fact["person_created"] is True
    assert adult_fact["measure"]["dataset"] == "employment"
    for record in found:
        assert json.loads(record.value or b"")["type"] == "uk.gov.frontdoor.contacts.partner-fact-matched.v1"
        for secret in (*names, nhs, upn, uprn, "2015-09-03", school.data.record_ref, dwp.data.record_ref):
            assert secret.encode() not in (record.value or b"")
    assert metric(contacts_service, f'{COUNTED}{{dataset="attendance",outcome="matched"}}') == matched_before + 1
    assert metric(contacts_service, f'{COUNTED}{{dataset="employment",outcome="created"}}') == created_before + 1

    # The child's NHS number with the sibling's UPN: two people's identifiers in one record.
    conflicting = partner_record(HEALTH, person=partner_person(nhs_number=nhs, upn=sibling_upn, uprn=uprn))
    key = f"conflict-{uuid.uuid4().hex[:8]}"
    await kafka.publish_event(HEALTH, conflicting, key=key)
    [dead] = await kafka.collect("partners.health.v1.dlq", lambda r: r.key == key.encode())
    assert header(dead, "dlq.reason") == "identifiers_conflict" and header(dead, "dlq.field") == "data.person.upn"
    assert dead.value == conflicting.model_dump_json().encode()  # the original bytes
    assert sibling_upn not in (header(dead, "dlq.message") or "") and nhs not in (header(dead, "dlq.message") or "")
    assert metric(contacts_service, f'{COUNTED}{{dataset="health",outcome="dead_lettered"}}') >= 1

    log = contacts_service.log.read_text()
    for secret in (*names, nhs, upn, sibling_upn, uprn):
        assert secret not in log
