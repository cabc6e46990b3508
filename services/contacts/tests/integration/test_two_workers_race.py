"""Two workers of the contacts service deciding about the same person at the same moment (PostgreSQL; the
race as `concurrency_testkit` runs it): whatever order the database lets them go in, the result is the
one a single worker gives, reached without a failed transaction (no careful re-run, no dead letter).

Each case: two contacts naming the same child (by NHS number, by UPN, by name + date of birth + postcode
alone), the same adult, two families linked by two contacts in opposite orders, two DA incidents about
one child (one key), two referrals of one child (the later is a re-referral), a decision racing its own
contact (applied, not left waiting), an erasure racing a DA incident about the child (she stays erased,
with no key), two partner records about two new adults at one UPRN (one household)."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from concurrency_testkit import CONTACTS, DECISIONS, Race, race, records
from concurrency_testkit import Worker as Applier
from contacts_testkit import (
    NOW,
    SEALING,
    decision_event,
    make_contact,
    nhs_number,
    partner_person,
    partner_record,
    upn,
)
from privacy_testkit import ADMIN, REQUESTS, SOURCE, Child, by_nhs
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts import handlers, matching
from contacts.models import (
    ChildReferral,
    Contact,
    ContactPerson,
    FamilyMerge,
    MashDecision,
    OutboxEvent,
    PendingDecision,
    Person,
    PersonKey,
)
from contacts.privacy import requests
from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_platform.database import for_writing

JUDGE = (matching, "judge")  # called once a person's candidates were looked up


@pytest.fixture
def engine(postgres_engine: Engine) -> Engine:
    return postgres_engine


def contact(*children: dict[str, Any], adults: tuple[dict[str, Any], ...] = (), **more: Any) -> CloudEvent[Any]:
    return make_contact(children=list(children), adults=list(adults), **more)


def kid(ref: str, name: str, **ids: Any) -> dict[str, Any]:
    return {"ref": ref, "given_name": name, "family_name": "Racetest", "date_of_birth": "2016-05-04",
            "postcode": "RG4 4RR", **ids}


def police(*children: dict[str, Any], reference: str) -> CloudEvent[Any]:
    return contact(*children, referrer_source="police", concerns=["domestic_abuse"],
                   da_incident={"occurred_at": "2026-03-01T22:40:00+00:00", "police_reference": reference,
                                "children": [{"child_ref": c["ref"], "present": True} for c in children]})


def on(topic: str, event: CloudEvent[Any]) -> tuple[str, bytes]:
    return topic, encode_event(event)


def applied(engine: Engine, *events: CloudEvent[Any]) -> None:
    """Recorded before the race, one after the other."""
    for event in events:
        result = Applier(engine).apply_batch(records(on(CONTACTS, event)))
        assert result.dead_lettered == []


def cid(event: CloudEvent[Any]) -> uuid.UUID:
    return contact_id_for(event.source, event.id)


def went_cleanly(how: Race) -> None:
    """The database decided the order: no failed transaction, nothing dead-lettered, and worker b waited
    for worker a instead of deciding on the same reads."""
    assert how.errors == [] and how.dead_lettered == [], how
    assert how.careful_runs == 0, f"a conflict made a batch run again record by record: {how}"
    assert how.stopped == {"a"} and how.waited_on_lock, how


def people_linked(engine: Engine, *events: CloudEvent[Any]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    """The people the contacts' links point to, and the contacts' families."""
    ids = [cid(e) for e in events]
    with Session(engine) as session:
        links = session.exec(select(ContactPerson).where(col(ContactPerson.contact_id).in_(ids))).all()
        families = session.exec(select(Contact.family_id).where(col(Contact.id).in_(ids))).all()
    assert len(families) == len(ids), "a contact was not recorded"
    return {link.person_id for link in links}, set(families)


def everyone(engine: Engine) -> list[Person]:
    with Session(engine) as session:
        return list(session.exec(select(Person)).all())


@pytest.mark.parametrize("ids", [
    {"nhs_number": nhs_number(91_001)}, {"upn": upn(91_002)}, {},
], ids=["nhs_number", "upn", "name_date_of_birth_postcode"])
def test_two_contacts_about_one_new_child_make_one_person_in_one_family(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, ids: dict[str, str]) -> None:
    first = contact(kid("c1", "Robin", **ids), concerns=["neglect"])
    second = contact(kid("c1", "ROBIN", **ids), referrer_source="health", concerns=["emotional_abuse"])
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, first)], [on(CONTACTS, second)])
    people = everyone(engine)
    assert len(people) == 1, f"{len(people)} people for one child ({how})"
    linked, families = people_linked(engine, first, second)
    assert linked == {people[0].id} and families == {people[0].family_id}
    went_cleanly(how)


@pytest.mark.parametrize("adult_ids", [{"nhs_number": nhs_number(91_003)}, {}],
                         ids=["nhs_number", "name_date_of_birth_postcode"])
def test_two_contacts_naming_one_new_adult_make_one_adult_and_one_family(
        engine: Engine, monkeypatch: pytest.MonkeyPatch, adult_ids: dict[str, str]) -> None:
    mother = {"ref": "m1", "given_name": "Morgan", "family_name": "Racetest", "relationship": "mother",
              "date_of_birth": "1990-01-02", "postcode": "RG4 4RR", **adult_ids}
    first = contact(kid("c1", "Alder"), adults=(mother,))
    second = contact(kid("c1", "Birch", date_of_birth="2018-02-03"), adults=(mother,))
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, first)], [on(CONTACTS, second)])
    adults = [p for p in everyone(engine) if p.kind == "adult"]
    assert len(adults) == 1, f"{len(adults)} adults for one mother ({how})"
    linked, families = people_linked(engine, first, second)
    assert len(linked) == 3 and families == {adults[0].family_id}, (families, how)
    went_cleanly(how)


def test_two_contacts_linking_two_families_in_opposite_orders_merge_them_once(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = kid("x", "Xander", nhs_number=nhs_number(91_040)), kid("y", "Yara", nhs_number=nhs_number(91_050))
    applied(engine, contact(x), contact(y))
    first, second = contact(x, y), contact(y, x)
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, first)], [on(CONTACTS, second)])
    people = everyone(engine)
    with Session(engine) as session:
        merges = session.exec(select(FamilyMerge)).all()
        contact_families = set(session.exec(select(Contact.family_id)).all())
        merged_events = session.exec(select(OutboxEvent).where(
            col(OutboxEvent.topic) == "contacts.families-merged.v1")).all()
    seen = {"people": len(people), "families": len({p.family_id for p in people}), "merges": len(merges),
            "merge_events": len(merged_events), "contact_families": len(contact_families)}
    assert seen == {"people": 2, "families": 1, "merges": 1, "merge_events": 1, "contact_families": 1}, (seen, how)
    assert contact_families == {people[0].family_id} and merges[0].family_id == people[0].family_id
    went_cleanly(how)


def test_two_da_incidents_about_one_child_make_one_key_published_once(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    child = kid("c1", "Keyla", nhs_number=nhs_number(91_006))
    applied(engine, contact(child))
    first, second = police(child, reference="TVP-RACE-1"), police(child, reference="TVP-RACE-2")
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, first)], [on(CONTACTS, second)])
    [person] = everyone(engine)
    with Session(engine) as session:
        keys = session.exec(select(PersonKey)).all()
        published = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == "contacts.person-keys.v1")).all()
        incidents = session.exec(select(OutboxEvent).where(
            col(OutboxEvent.topic) == "contacts.da-incident-reported.v1")).all()
    assert [k.person_id for k in keys] == [person.id], (keys, how)
    assert [r.key for r in published] == [str(person.id)] and len(incidents) == 2, how
    sealed_with = {json.loads(r.payload)["data"]["children"][0]["personal"]["key_id"] for r in incidents}
    assert sealed_with == {str(person.id)}
    went_cleanly(how)


def test_two_referrals_of_one_child_decided_at_once_make_the_later_a_re_referral(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    child = kid("c1", "Reeve", nhs_number=nhs_number(91_007))
    earlier, later = contact(child), contact(child)
    applied(engine, earlier, later)
    first = decision_event(cid(earlier), "s47_strategy_discussion", "2026-01-10T10:00:00+00:00")
    second = decision_event(cid(later), "social_care_assessment", "2026-02-10T10:00:00+00:00")
    how = race(engine, monkeypatch, (handlers, "referral_flags"), [on(DECISIONS, first)], [on(DECISIONS, second)])
    with Session(engine) as session:
        flags = {d.contact_id: d.re_referral for d in session.exec(select(MashDecision)).all()}
        history = {r.contact_id: r.re_referral for r in session.exec(select(ChildReferral)).all()}
    assert flags == {cid(earlier): False, cid(later): True}, how
    assert history == flags
    went_cleanly(how)


def test_a_decision_racing_its_own_contact_is_applied_not_left_waiting(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    event = contact(kid("c1", "Pending", nhs_number=nhs_number(91_008)))
    decision = decision_event(cid(event), "early_help", "2026-03-02T09:00:00+00:00")
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, event)], [on(DECISIONS, decision)])
    with Session(engine) as session:
        decided = session.exec(select(MashDecision)).all()
        waiting = session.exec(select(PendingDecision)).all()
        events = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == "contacts.decided.v1")).all()
    assert [d.contact_id for d in decided] == [cid(event)] and waiting == [], (waiting, how)
    assert len(events) == 1
    went_cleanly(how)


def test_an_erasure_racing_a_da_incident_about_the_child_leaves_her_erased_and_without_a_key(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    her = Child.made(77)
    facts = {"ref": "c1", "given_name": her.given_name, "family_name": her.family_name,
             "date_of_birth": her.date_of_birth, "nhs_number": her.nhs_number, "upn": her.upn,
             "postcode": her.postcode}
    applied(engine, contact(facts))
    [person] = everyone(engine)
    with Session(for_writing(engine)) as session:
        accepted = requests.submit(session, by_nhs("erase", her), ADMIN, SEALING, SOURCE, NOW)
        session.commit()
        request = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REQUESTS,
                                                         col(OutboxEvent.key) == str(accepted.request_id))).one()
    incident = police({**facts, "postcode": "RG9 9ZZ"}, reference="TVP-RACE-3")
    how = race(engine, monkeypatch, JUDGE, [on(CONTACTS, incident)], [(REQUESTS, request.payload)])
    with Session(engine) as session:
        erased = session.get(Person, person.id)
        keys = session.exec(select(PersonKey)).all()
        published = [(r.payload == b"") for r in session.exec(select(OutboxEvent).where(
            col(OutboxEvent.topic) == "contacts.person-keys.v1", col(OutboxEvent.key) == str(person.id))
            .order_by(col(OutboxEvent.id))).all()]
    assert erased is not None and erased.erased_at is not None, how
    assert (erased.postcode, erased.nhs_number, keys) == (None, None, []), how
    assert published in ([], [True]), published  # a key made before the erasure: its row deleted, a tombstone
    went_cleanly(how)


def test_two_partner_records_about_two_new_adults_at_one_uprn_make_one_household(
        engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    employment = "partners.employment.v1"
    first = partner_record(employment, person=partner_person(uprn="100012345678"))
    second = partner_record(employment, person=partner_person(date_of_birth="1990-01-01", uprn="100012345678"))
    how = race(engine, monkeypatch, JUDGE, [on(employment, first)], [on(employment, second)])
    people = everyone(engine)
    assert len(people) == 2 and len({p.family_id for p in people}) == 1, (people, how)
    went_cleanly(how)
