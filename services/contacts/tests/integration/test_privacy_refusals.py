"""What a privacy request may not do, on a real database (SQLite and PostgreSQL), made as the route makes it
and answered through the kit's consumer and Responder:

- erasing an adult (or an adult sibling) named on a contact that was decided as a safeguarding referral
  (S47 strategy discussion, social care assessment) is refused for every class: the erasure would blank the
  contact's police reference and the decision's rationale, the child's statutory record;
- a correction of a person whose erasure waits to be applied is refused (409): answered after the erasure it
  would write their details back. A refused erasure does not hold a correction back, and a person erased is
  found by nothing (404)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from contacts_testkit import NOW, SEALING, decision_event, make_contact, nhs_number, upn
from privacy_testkit import ADMIN, SOURCE, actions, answer, ask, consume
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts.models import Contact, ContactPerson, MashDecision, OutboxEvent, Person
from contacts.privacy import requests
from contacts.privacy.requests import PrivacyRequestBody
from frontdoor_contracts.contacts import contact_id_for
from frontdoor_contracts.envelope import encode_event
from frontdoor_contracts.personal import new_reply_keys
from frontdoor_platform.database import for_writing
from frontdoor_platform.problems import ProblemError


@dataclass(frozen=True)
class Household:
    contact_id: uuid.UUID
    child_nhs: str
    father_nhs: str
    brother: dict[str, str]  # an adult sibling, named by name, date of birth and postcode
    police_reference: str
    rationale: str


def household(engine: Engine, seed: int, decision: str) -> Household:
    """A police DA contact about a child, with her father and her adult brother; decided as `decision`."""
    child_nhs, father_nhs = nhs_number(660_000 + seed), nhs_number(670_000 + seed)
    brother = {"given_name": f"Brotherof{seed}q", "family_name": f"Refusalfam{seed}", "date_of_birth": "2001-05-06",
               "postcode": "ZX1 2YW"}
    her = {"ref": "c1", "given_name": f"Refusedchild{seed}", "family_name": f"Refusalfam{seed}",
           "date_of_birth": "2015-02-03", "nhs_number": child_nhs, "upn": upn(660_000 + seed), "postcode": "ZX1 2YW"}
    father = {"ref": "a1", "given_name": f"Fatherof{seed}", "family_name": f"Refusalfam{seed}",
              "date_of_birth": "1980-01-02", "nhs_number": father_nhs, "postcode": "ZX1 2YW"}
    adults = [{**father, "relationship": "father"}, {"ref": "a2", **brother, "relationship": "brother"}]
    police_reference = f"TVP-REFUSE-{seed:05d}"
    contact = make_contact(referrer_source="police", concerns=["domestic_abuse"], children=[her], adults=adults,
                           da_incident={"occurred_at": "2026-03-01T22:40:00+00:00",
                                        "police_reference": police_reference,
                                        "children": [{"child_ref": "c1", "present": True}]})
    contact_id = contact_id_for(contact.source, contact.id)
    consume(engine, "frontdoor.contacts.v1", encode_event(contact))
    rationale = f"Refusedchild{seed} disclosed what her father did; strategy discussion today"
    consume(engine, "frontdoor.decisions.v1",
            encode_event(decision_event(contact_id, decision, "2026-03-02T09:00:00+00:00", rationale=rationale)))
    return Household(contact_id, child_nhs, father_nhs, brother, police_reference, rationale)


def record_of(engine: Engine, contact_id: uuid.UUID) -> dict[str, Any]:
    """Every field of the contact, its links, its decision and its people."""
    with Session(engine) as session:
        contact = session.get(Contact, contact_id)
        decision = session.get(MashDecision, contact_id)
        links = session.exec(select(ContactPerson).where(col(ContactPerson.contact_id) == contact_id)
                             .order_by(col(ContactPerson.ref))).all()
        people = session.exec(select(Person).where(col(Person.id).in_([link.person_id for link in links]))
                              .order_by(col(Person.id))).all()
        assert contact is not None and decision is not None
        return {"contact": contact.model_dump(), "decision": decision.model_dump(),
                "links": [link.model_dump() for link in links], "people": [p.model_dump() for p in people]}


def asking(kind: str, **named: Any) -> PrivacyRequestBody:
    return PrivacyRequestBody.model_validate({"kind": kind, "reply_key": new_reply_keys()[1], **named})


@pytest.mark.parametrize("decision", ["s47_strategy_discussion", "social_care_assessment"])
@pytest.mark.parametrize("who", ["father", "adult brother"])
def test_erasing_an_adult_named_on_a_childs_safeguarding_referral_is_refused_and_her_record_keeps_every_field(
        engine: Engine, decision: str, who: str) -> None:
    seed = 10 * (decision == "social_care_assessment") + (who == "father")
    home = household(engine, seed, decision)
    before = record_of(engine, home.contact_id)
    accepted = ask(engine, asking("erase", nhs_number=home.father_nhs) if who == "father"
                   else asking("erase", **home.brother))
    assert accepted.people == 1
    assert accepted.erasure_refused is not None and "safeguarding referral" in accepted.erasure_refused
    for value in (home.father_nhs, home.police_reference, *home.brother.values()):
        assert value not in accepted.erasure_refused  # the rule, never a value
    done = actions(answer(engine, accepted.request_id))
    assert {action for action, _ in done.values()} <= {"kept", "none_held"}, done
    after = record_of(engine, home.contact_id)
    assert after == before
    assert after["contact"]["police_reference"] == home.police_reference
    assert after["decision"]["rationale"] == home.rationale


def test_erasing_an_adult_whose_contact_was_no_referral_goes_ahead(engine: Engine) -> None:
    home = household(engine, 30, "early_help")
    accepted = ask(engine, asking("erase", nhs_number=home.father_nhs))
    assert accepted.erasure_refused is None
    assert actions(answer(engine, accepted.request_id))["people_index"] == ("erased", 1)
    with Session(engine) as session:
        assert session.exec(select(Person).where(col(Person.nhs_number) == home.father_nhs)).first() is None


def submit(engine: Engine, body: PrivacyRequestBody) -> requests.PrivacyAccepted:
    """Made as the route makes it, and left in the outbox (not answered yet)."""
    with Session(for_writing(engine)) as session:
        accepted = requests.submit(session, body, ADMIN, SEALING, SOURCE, NOW)
        session.commit()
    return accepted


def test_a_rectify_while_an_erasure_of_the_person_waits_is_409_and_asks_nothing(engine: Engine) -> None:
    home = household(engine, 40, "early_help")
    erase = submit(engine, asking("erase", nhs_number=home.child_nhs))
    assert erase.erasure_refused is None
    with pytest.raises(ProblemError) as refused:
        submit(engine, asking("rectify", nhs_number=home.child_nhs, corrections={"family_name": "Writtenback"}))
    assert refused.value.status == 409 and [e.field for e in refused.value.errors] == ["kind"]
    assert home.child_nhs not in str(refused.value)
    with Session(engine) as session:
        asked = session.exec(select(OutboxEvent.key).where(col(OutboxEvent.topic) == "privacy.requests.v1")).all()
    assert asked == [str(erase.request_id)]
    access = submit(engine, asking("access", nhs_number=home.child_nhs))  # what is held may still be asked
    assert access.people == 1


def test_a_rectify_after_a_refused_erasure_goes_ahead_and_after_an_applied_one_finds_nobody(engine: Engine) -> None:
    referred, plain = household(engine, 50, "s47_strategy_discussion"), household(engine, 51, "early_help")
    refused = ask(engine, asking("erase", nhs_number=referred.child_nhs))
    assert refused.erasure_refused is not None
    fixed = ask(engine, asking("rectify", nhs_number=referred.child_nhs,
                               corrections={"family_name": "Corrected"}))
    assert actions(answer(engine, fixed.request_id))["people_index"] == ("rectified", 1)
    applied = ask(engine, asking("erase", nhs_number=plain.child_nhs))
    assert actions(answer(engine, applied.request_id))["people_index"] == ("erased", 1)
    with pytest.raises(ProblemError) as nobody:
        submit(engine, asking("rectify", nhs_number=plain.child_nhs, corrections={"family_name": "Writtenback"}))
    assert nobody.value.status == 404
