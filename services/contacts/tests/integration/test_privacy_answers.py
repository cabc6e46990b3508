"""Privacy requests answered by the contacts service on a real database (SQLite and PostgreSQL), end to
end through the kit's consumer and Responder: the request as the API makes it (ids only in clear, each
service's share sealed for it), an access export with the child's data and the reads of her records, a
rectification, and an erasure refused while she has a safeguarding referral."""

from __future__ import annotations

import json

import pytest
from contacts_testkit import SEALING
from privacy_testkit import REQUESTS, actions, answer, ask, by_nhs, consume, known_child
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts import store
from contacts.models import OutboxEvent, Person, PersonKey
from contacts.privacy import requests
from contacts.privacy.requests import ERASURE_REFUSED
from frontdoor_contracts.personal import new_reply_keys, open_reply, open_sealed
from frontdoor_contracts.privacy import PrivacyRequested, reply_context, sealed_context
from frontdoor_platform.wrapping import development_key


def test_the_request_names_the_people_by_id_and_seals_what_each_service_needs(engine: Engine) -> None:
    known = known_child(engine, 1)
    accepted = ask(engine, by_nhs("rectify", known.child, corrections={"family_name": "Newfamily"}))
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REQUESTS)).one()
        her = store.person_by_nhs(session, known.child.nhs_number)
        assert her is not None
    for detail in known.child.details().values():
        assert detail not in row.payload  # ids only in clear
    request = PrivacyRequested.model_validate(json.loads(row.payload)["data"])
    assert request.request_id == accepted.request_id and request.person_ids == [her.id]
    assert request.contact_ids == [known.contact_id] and request.family_ids == [her.family_id]
    assert set(request.sealed_for) == {"notifications", "contacts"}
    notifications = open_sealed(development_key("notifications").key, request.sealed_for["notifications"],
                                sealed_context(request.request_id, "notifications"))
    assert notifications == {"upns": [known.child.upn], "corrections": {"family_name": "Newfamily"}}
    with pytest.raises(ValueError):  # sealed for notifications alone
        open_sealed(SEALING.own.key, request.sealed_for["notifications"],
                    sealed_context(request.request_id, "notifications"))


def test_access_exports_what_contacts_holds_about_her_and_the_reads_of_her_records(engine: Engine) -> None:
    known = known_child(engine, 2)
    private, public = new_reply_keys()
    accepted = ask(engine, by_nhs("access", known.child, reply_key=public))
    answered = answer(engine, accepted.request_id)
    assert answered.service == "contacts" and answered.part is not None
    for detail in known.child.details().values():  # the part is sealed to the requester
        assert detail.decode() not in answered.model_dump_json()
    part = open_reply(private, answered.part, reply_context(accepted.request_id, "contacts"))
    classes = part["classes"]
    [her] = classes["people_index"]
    assert (her["given_name"], her["family_name"], her["date_of_birth"], her["nhs_number"], her["upn"],
            her["postcode"]) == (known.child.given_name, known.child.family_name, known.child.date_of_birth,
                                 known.child.nhs_number, known.child.upn, known.child.postcode)
    tables = {record["table"] for record in classes["case_records"]}
    assert tables == {"contacts", "contact_people", "decisions"}
    [decision] = [r for r in classes["case_records"] if r["table"] == "decisions"]
    assert known.child.given_name in decision["rationale"]
    [key] = classes["person_keys"]
    assert key == {"person_id": her["id"], "created_at": key["created_at"], "key": "held"}  # never the key
    assert any(row["in_clear"] and row["topic"] == "frontdoor.contacts.v1.dlq" for row in classes["outbox"])
    assert {r["record"] for r in part["reads"]} == {f"contact:{known.contact_id}"}
    assert actions(answered)["people_index"] == ("exported", 1)
    assert actions(answered)["read_log"] == ("exported", 1)


def test_rectify_corrects_the_people_index(engine: Engine) -> None:
    known = known_child(engine, 3)
    corrections = {"family_name": "Rectifiedname", "postcode": "ZZ99 3QQ"}
    accepted = ask(engine, by_nhs("rectify", known.child, corrections=corrections))
    answered = answer(engine, accepted.request_id)
    assert actions(answered)["people_index"] == ("rectified", 1)
    with Session(engine) as session:
        her = store.person_by_nhs(session, known.child.nhs_number)
        assert her is not None and (her.family_name, her.postcode) == ("Rectifiedname", "ZZ99 3QQ")
        assert her.given_name == known.child.given_name and her.upn == known.child.upn
        by_name = store.people_by_demographics(session, her.demographic_key, "child")
        assert [p.id for p in by_name] == [her.id]  # found by her corrected name, date of birth and postcode


def test_erasure_is_refused_for_every_class_while_she_has_a_statutory_referral(engine: Engine) -> None:
    known = known_child(engine, 4, decision="s47_strategy_discussion")
    accepted = ask(engine, by_nhs("erase", known.child))
    assert accepted.erasure_refused == ERASURE_REFUSED
    answered = answer(engine, accepted.request_id)
    kept = {c.retention_class: c.reason for c in answered.classes if c.records}
    assert kept and all(c.action.value == "kept" for c in answered.classes if c.records)
    assert set(kept.values()) == {ERASURE_REFUSED}
    with Session(engine) as session:
        her = store.person_by_nhs(session, known.child.nhs_number)
        assert her is not None and her.erased_at is None and her.given_name == known.child.given_name
        assert session.get(PersonKey, her.id) is not None


def test_a_request_is_answered_once_however_often_it_is_read(engine: Engine) -> None:
    known = known_child(engine, 5)
    accepted = ask(engine, by_nhs("access", known.child))
    with Session(engine) as session:
        row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REQUESTS)).one()
    consume(engine, REQUESTS, row.payload)
    with Session(engine) as session:
        replies = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == "privacy.replies.v1")).all()
    assert [r.key for r in replies] == [str(accepted.request_id)]


def test_nobody_matches_an_erased_person_or_someone_unknown(engine: Engine) -> None:
    known = known_child(engine, 6)
    ask(engine, by_nhs("erase", known.child))
    with Session(engine) as session:
        assert requests.find(session, by_nhs("access", known.child)) is None
        erased = session.exec(select(Person).where(col(Person.erased_at).is_not(None))).all()
    assert [p.kind for p in erased] == ["child"]  # her, not her mother
