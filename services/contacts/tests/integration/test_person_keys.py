"""Person keys on a real database (SQLite and PostgreSQL): a DA incident's children's personal fields
sealed with each child's key, the key made once per person, kept sealed at rest, and published (wrapped
for notifications) before the first incident it seals."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from contacts_testkit import NOW, SEALING, ContactFactory, child, nhs_number, upn
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts import handlers, person_keys
from contacts.models import OutboxEvent, Person, PersonKey
from frontdoor_contracts.contacts import DAIncidentReported, da_child_context
from frontdoor_contracts.errors import InvalidEvent
from frontdoor_contracts.personal import PersonKeyIssued, Sealed, open_sealed, unwrap_key
from frontdoor_contracts.vocabulary import Channel
from frontdoor_platform.wrapping import development_key

SOURCE = "urn:frontdoor:contacts"
DA, KEYS = "contacts.da-incident-reported.v1", "contacts.person-keys.v1"


def record(engine: Engine, event: Any) -> handlers.Outcome:
    with Session(engine) as session:
        outcome = handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
        session.commit()
    return outcome


def rows(engine: Engine) -> list[OutboxEvent]:
    with Session(engine) as session:
        return list(session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all())


def police(make_contact: ContactFactory, *children: dict[str, Any], reference: str = "TVP-2026-7001") -> Any:
    return make_contact(referrer_source="police", concerns=["domestic_abuse"], children=list(children),
                        da_incident={"occurred_at": "2026-03-01T22:40:00+00:00", "police_reference": reference,
                                     "children": [{"child_ref": c["ref"], "present": True} for c in children]})


def key_of(engine: Engine, person_id: uuid.UUID) -> bytes:
    with Session(engine) as session:
        person = session.get(Person, person_id)
        assert person is not None
        keys, issued = person_keys.data_keys(session, SEALING, [person], NOW)
        assert issued == []  # the key was there: nothing new to publish
        return keys[person_id]


def test_the_da_event_holds_no_personal_field_in_clear_and_opens_with_each_childs_key(
        engine: Engine, make_contact: ContactFactory) -> None:
    amy = child("a", given_name="Amyseal", family_name="Sealtest", date_of_birth="2015-06-07", upn=upn(71),
                school_urn="123456")
    ben = child("b", given_name="Benseal", family_name="Sealtest", date_of_birth="2017-08-09")
    outcome = record(engine, police(make_contact, amy, ben, reference="TVP-2026-7001"))
    [row] = [r for r in rows(engine) if r.topic == DA]
    for secret in (b"Amyseal", b"Benseal", b"Sealtest", b"2015-06-07", b"2017-08-09", upn(71).encode(),
                   b"TVP-2026-7001"):
        assert secret not in row.payload
    event = DAIncidentReported.model_validate(json.loads(row.payload)["data"])
    assert event.contact_id == outcome.contact_id
    opened = {}
    for entry in event.children:
        assert entry.personal.key_id == entry.child_id
        opened[entry.school_urn] = open_sealed(key_of(engine, entry.child_id), entry.personal,
                                               da_child_context(event.contact_id, entry.child_id))
    assert opened == {
        "123456": {"given_name": "Amyseal", "family_name": "Sealtest", "date_of_birth": "2015-06-07",
                   "upn": upn(71), "police_reference": "TVP-2026-7001"},
        None: {"given_name": "Benseal", "family_name": "Sealtest", "date_of_birth": "2017-08-09", "upn": None,
               "police_reference": "TVP-2026-7001"}}
    first = event.children[0]
    other = da_child_context(uuid.uuid4(), first.child_id)  # copied onto another incident: does not open
    with pytest.raises(ValueError):
        open_sealed(key_of(engine, first.child_id), first.personal, other)


def test_a_key_is_made_once_per_person_and_published_before_the_first_incident(
        engine: Engine, make_contact: ContactFactory) -> None:
    nhs = nhs_number(7702)
    record(engine, police(make_contact, child("c", nhs_number=nhs, postcode=None)))
    record(engine, police(make_contact, child("c", nhs_number=nhs, postcode=None), reference="TVP-2026-7002"))
    topics = [r.topic for r in rows(engine)]
    assert topics == ["contacts.recorded.v1", KEYS, DA, "contacts.recorded.v1", DA]
    with Session(engine) as session:
        person = session.exec(select(Person).where(col(Person.nhs_number) == nhs)).one()
        stored = session.exec(select(PersonKey)).all()
    assert [k.person_id for k in stored] == [person.id]
    key = key_of(engine, person.id)
    assert key not in stored[0].ciphertext.encode() and stored[0].wrapping_key_id == SEALING.own.key_id
    published = [r for r in rows(engine) if r.topic == KEYS]
    assert [r.key for r in published] == [str(person.id)]
    issued = PersonKeyIssued.model_validate(json.loads(published[0].payload)["data"])
    assert set(issued.wrapped) == {"notifications"}  # every reader of the topic, and only they
    notifications = development_key("notifications")
    assert unwrap_key("notifications", notifications.key, person.id, issued.wrapped["notifications"]) == key
    for row in [r for r in rows(engine) if r.topic == DA]:  # both incidents sealed with the one key
        event = DAIncidentReported.model_validate(json.loads(row.payload)["data"])
        sealed: Sealed = event.children[0].personal
        assert open_sealed(key, sealed, da_child_context(event.contact_id, person.id)) is not None


def test_two_incidents_in_one_batch_share_the_childs_new_key(engine: Engine, make_contact: ContactFactory) -> None:
    nhs = nhs_number(7703)
    with Session(engine) as session:
        for reference in ("TVP-2026-7003", "TVP-2026-7004"):
            event = police(make_contact, child("c", nhs_number=nhs, postcode=None), reference=reference)
            handlers.record_contact(session, event, Channel.KAFKA, SOURCE, NOW, sealing=SEALING)
        session.commit()
    assert [r.topic for r in rows(engine)].count(KEYS) == 1
    with Session(engine) as session:
        assert len(session.exec(select(PersonKey)).all()) == 1


def test_an_erased_person_never_gets_a_key_again(engine: Engine, make_contact: ContactFactory) -> None:
    outcome = record(engine, make_contact(children=[child("c", nhs_number=nhs_number(7704))]))
    with Session(engine) as session:
        person = session.exec(select(Person).where(col(Person.nhs_number) == nhs_number(7704))).one()
        person.erased_at = NOW
        session.add(person)
        session.commit()
        with pytest.raises(InvalidEvent) as refused:
            person_keys.data_keys(session, SEALING, [person], NOW)
    assert refused.value.reason == "person_erased" and outcome.contact_id
    with Session(engine) as session:
        assert session.exec(select(PersonKey)).all() == []
