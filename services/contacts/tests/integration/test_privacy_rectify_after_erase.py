"""A rectify asked before an erasure but read after it (requests of one person can be read in either
order after a replay) writes nothing back into the erased person."""

from __future__ import annotations

import uuid

from contacts_testkit import NOW, SEALING
from privacy_testkit import ADMIN, REQUESTS, SOURCE, actions, answer, by_nhs, consume, known_child
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts.models import OutboxEvent, Person
from contacts.privacy import requests
from frontdoor_platform.database import for_writing


def submitted(engine: Engine, body: requests.PrivacyRequestBody) -> tuple[uuid.UUID, bytes]:
    with Session(for_writing(engine)) as session:
        accepted = requests.submit(session, body, ADMIN, SEALING, SOURCE, NOW)
        session.commit()
        row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == REQUESTS,
                                                     col(OutboxEvent.key) == str(accepted.request_id))).one()
    return accepted.request_id, row.payload


def test_a_rectify_read_after_the_erasure_leaves_the_person_erased(engine: Engine) -> None:
    known = known_child(engine, seed=731)
    rectify_id, rectify = submitted(engine, by_nhs("rectify", known.child,
                                                   corrections={"family_name": "Correctedname"}))
    erase_id, erase = submitted(engine, by_nhs("erase", known.child))
    consume(engine, REQUESTS, erase)
    consume(engine, REQUESTS, rectify)
    with Session(engine) as session:
        people = session.exec(select(Person).where(col(Person.erased_at).is_not(None))).all()
    assert people and all(p.family_name in (None, "") and p.nhs_number is None for p in people)
    assert actions(answer(engine, erase_id))["people_index"][0] == "erased"
    assert actions(answer(engine, rectify_id)).get("people_index", ("none_held", 0))[0] != "rectified"
