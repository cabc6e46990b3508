"""Recording contacts on a real database: once, matched, with its events."""

from __future__ import annotations

import json

from contacts_testkit import NOW, SEALING, ContactFactory, child, nhs_number
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from contacts import handlers, store
from contacts.models import Contact, OutboxEvent, Person
from frontdoor_contracts.vocabulary import Channel

SOURCE = "urn:frontdoor:contacts"


def record(engine: Engine, event: object) -> handlers.Outcome:
    with Session(engine) as session:
        outcome = handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)  # type: ignore[arg-type]
        session.commit()
    return outcome


def outbox(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(OutboxEvent.id)).all())  # type: ignore[arg-type]


def test_a_contact_is_recorded_once_with_one_event(engine: Engine, make_contact: ContactFactory) -> None:
    event = make_contact()
    first = record(engine, event)
    again = record(engine, event)
    assert not first.duplicate and again.duplicate
    assert first.contact_id == again.contact_id
    rows = outbox(engine)
    assert [r.topic for r in rows] == ["contacts.recorded.v1"]
    payload = json.loads(rows[0].payload)
    assert payload["data"]["contact_id"] == str(first.contact_id)
    assert "Testchild" not in rows[0].payload.decode()  # the recorded event carries no names
    with Session(engine) as session:
        assert len(session.exec(select(Contact)).all()) == 1


def test_children_match_by_nhs_number_then_upn_then_demographics(
    engine: Engine, make_contact: ContactFactory
) -> None:
    nhs = nhs_number(123456780)
    record(engine, make_contact(children=[child(nhs_number=nhs, given_name="Testchild", postcode="RG2 2BB")]))
    # Same NHS number, different name: the same child.
    record(engine, make_contact(children=[child(nhs_number=nhs, given_name="Other", postcode=None)]))
    # No NHS number but the same name, date of birth and postcode: the same child.
    record(engine, make_contact(children=[child(given_name="TESTCHILD", postcode="rg2 2bb")]))
    # Different date of birth: someone else.
    sibling = child(given_name="Testchild", date_of_birth="2017-04-01", postcode="RG2 2BB")
    record(engine, make_contact(children=[sibling]))
    with Session(engine) as session:
        people = session.exec(select(Person)).all()
        assert len(people) == 2
        matched = store.person_by_nhs(session, nhs)
        assert matched is not None
        assert len(store.contacts_for_child(session, matched.id)) == 3


def test_upn_matches_and_conflicting_nhs_does_not(engine: Engine, make_contact: ContactFactory) -> None:
    upn = "H801200001001"
    record(engine, make_contact(children=[child(upn=upn, postcode=None)]))
    record(engine, make_contact(children=[child(upn=upn, nhs_number=nhs_number(22), postcode=None)]))
    # Same UPN but an NHS number that contradicts the one now known: someone
    # else (a data error), who must not take the UPN either.
    record(engine, make_contact(children=[child(upn=upn, nhs_number=nhs_number(500), postcode=None)]))
    with Session(engine) as session:
        by_upn = store.person_by_upn(session, upn)
        assert by_upn is not None and by_upn.nhs_number == nhs_number(22)  # filled in from the second contact
        other = store.person_by_nhs(session, nhs_number(500))
        assert other is not None and other.id != by_upn.id and other.upn is None
        assert len(session.exec(select(Person)).all()) == 2


def test_siblings_form_one_family_that_later_contacts_join(engine: Engine, make_contact: ContactFactory) -> None:
    a, b, c = nhs_number(1000), nhs_number(2000), nhs_number(3000)
    first = record(engine, make_contact(children=[child("c1", nhs_number=a), child("c2", nhs_number=b)]))
    second = record(engine, make_contact(children=[child("x", nhs_number=c), child("y", nhs_number=b)]))
    with Session(engine) as session:
        family = {p.family_id for p in session.exec(select(Person)).all()}
        assert len(family) == 1
        contacts = {c.id: c.family_id for c in session.exec(select(Contact)).all()}
        assert contacts[first.contact_id] == contacts[second.contact_id]


def test_a_police_da_incident_reports_every_child(engine: Engine, make_contact: ContactFactory) -> None:
    event = make_contact(
        referrer_source="police", concerns=["domestic_abuse"],
        children=[child("c1", nhs_number=nhs_number(7), school_urn="123456"), child("c2", date_of_birth="2012-01-09")],
        da_incident={"occurred_at": "2026-03-01T22:40:00+00:00", "police_reference": "TVP-2026-0001",
                     "children": [{"child_ref": "c1", "present": True}, {"child_ref": "c2", "present": False}]},
    )
    outcome = record(engine, event)
    topics = [r.topic for r in outbox(engine)]
    assert topics == ["contacts.recorded.v1", "contacts.person-keys.v1", "contacts.person-keys.v1",
                      "contacts.da-incident-reported.v1"]  # each child's new key before what it seals
    reported = json.loads(outbox(engine)[3].payload)["data"]
    assert reported["contact_id"] == str(outcome.contact_id)
    assert [(c["school_urn"], c["present"]) for c in reported["children"]] == [("123456", True), (None, False)]


def family_of(engine: Engine, nhs: str) -> object:
    with Session(engine) as session:
        person = store.person_by_nhs(session, nhs)
        assert person is not None
        return person.family_id


def test_a_contact_linking_children_of_two_families_merges_them_with_an_event(
        engine: Engine, make_contact: ContactFactory) -> None:
    amy, ben = nhs_number(7101), nhs_number(7202)
    first = record(engine, make_contact(children=[child(ref="a", nhs_number=amy)]))
    record(engine, make_contact(children=[child(ref="b", nhs_number=ben)]))
    assert family_of(engine, amy) != family_of(engine, ben)
    older, younger = family_of(engine, amy), family_of(engine, ben)
    linking = record(engine, make_contact(children=[child(ref="a", nhs_number=amy), child(ref="b", nhs_number=ben)]))
    assert family_of(engine, amy) == family_of(engine, ben) == older  # the first child's family remains
    with Session(engine) as session:
        families = {c.family_id for c in session.exec(select(Contact)).all()}
    assert families == {older}  # the earlier contacts follow their people
    merged = [json.loads(r.payload) for r in outbox(engine) if r.topic == "contacts.families-merged.v1"]
    assert len(merged) == 1 and merged[0]["data"] == {
        "family_id": str(older), "merged_family_ids": [str(younger)], "contact_id": str(linking.contact_id),
        "merged_at": merged[0]["data"]["merged_at"]}
    record(engine, make_contact(children=[child(ref="a", nhs_number=amy), child(ref="b", nhs_number=ben)]))
    assert len([r for r in outbox(engine) if r.topic == "contacts.families-merged.v1"]) == 1  # one family now
    assert first.contact_id != linking.contact_id


def test_an_adult_known_in_a_family_brings_a_new_child_into_it(engine: Engine, make_contact: ContactFactory) -> None:
    mum, amy, cat = nhs_number(7303), nhs_number(7404), nhs_number(7505)
    parent = {"ref": "m", "given_name": "Testmum", "family_name": "Example", "relationship": "mother",
              "nhs_number": mum}
    record(engine, make_contact(children=[child(ref="a", nhs_number=amy)], adults=[parent]))
    record(engine, make_contact(children=[child(ref="c", nhs_number=cat)], adults=[parent]))
    assert family_of(engine, cat) == family_of(engine, amy) == family_of(engine, mum)
