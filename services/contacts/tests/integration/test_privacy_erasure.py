"""Erasing a child in the contacts service, end to end through the kit's consumer and Responder on a real
database: her details blanked wherever contacts stores them (people index, case records' free text, the
outbox's rows about her, her dead-lettered contact), her key deleted with a tombstone on
contacts.person-keys.v1, ids, codes and times kept (the KPIs do not change); not one byte of her name, date
of birth, NHS number, UPN or postcode left in the SQLite file; and a redelivered old contact or decision
brings nothing back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from privacy_testkit import Known, actions, answer, ask, by_nhs, known_child, redeliver
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from contacts.migrations import migrate
from contacts.models import ChildReferral, Contact, ContactPerson, MashDecision, OutboxEvent, Person, PersonKey
from frontdoor_contracts.contacts import DAIncidentReported, da_child_context
from frontdoor_contracts.personal import open_sealed
from frontdoor_platform.database import build_engine
from frontdoor_platform.outbox import stored_headers

KEYS, DA = "contacts.person-keys.v1", "contacts.da-incident-reported.v1"


def state(engine: Engine) -> dict[str, object]:
    """What the KPIs and the other services rest on: ids, codes and times."""
    with Session(engine) as session:
        return {
            "contacts": [(c.id, c.family_id, c.referrer_source, c.received_at, c.incident_at)
                         for c in session.exec(select(Contact).order_by(col(Contact.id))).all()],
            "links": [(p.contact_id, p.person_id, p.role, p.da_present)
                      for p in session.exec(select(ContactPerson).order_by(col(ContactPerson.ref))).all()],
            "decisions": [(d.contact_id, d.decision, d.level_of_need, d.decided_at, d.referral, d.re_referral)
                          for d in session.exec(select(MashDecision)).all()],
            "referrals": [(r.child_id, r.contact_id, r.decided_at) for r in session.exec(select(ChildReferral)).all()],
            "people": [(p.id, p.kind, p.family_id, p.school_urn, p.created_at)
                       for p in session.exec(select(Person).order_by(col(Person.id))).all()]}


def erase(engine: Engine, known: Known) -> dict[str, tuple[str, int]]:
    accepted = ask(engine, by_nhs("erase", known.child))
    assert accepted.erasure_refused is None
    return actions(answer(engine, accepted.request_id))


def test_erasure_blanks_her_details_deletes_her_key_and_keeps_the_ids(engine: Engine) -> None:
    known = known_child(engine, 11)
    with Session(engine) as session:
        her = session.exec(select(Person).where(col(Person.nhs_number) == known.child.nhs_number)).one()
        da_row = session.exec(select(OutboxEvent).where(col(OutboxEvent.topic) == DA)).one()
    da_payload, before = da_row.payload, state(engine)
    done = erase(engine, known)
    assert done["people_index"] == ("erased", 1) and done["person_keys"] == ("erased", 1)
    assert done["case_records"][0] == "erased" and done["outbox"][0] == "erased"
    assert state(engine) == before  # ids, codes and times: the KPIs are unchanged
    with Session(engine) as session:
        erased = session.get(Person, her.id)
        assert erased is not None and erased.erased_at is not None
        assert (erased.given_name, erased.family_name, erased.date_of_birth, erased.nhs_number, erased.upn,
                erased.postcode, erased.demographic_key) == ("", "", None, None, None, None, None)
        contact = session.get(Contact, known.contact_id)
        decision = session.get(MashDecision, known.contact_id)
        assert contact is not None and contact.police_reference is None
        assert decision is not None and decision.rationale == ""
        mother = session.exec(select(Person).where(col(Person.kind) == "adult")).one()
        assert mother.given_name == "Mumof11" and mother.erased_at is None  # only the person named
        assert session.get(PersonKey, her.id) is None
        rows = session.exec(select(OutboxEvent).order_by(col(OutboxEvent.id))).all()
    [tombstone] = [r for r in rows if r.topic == KEYS]
    assert tombstone.key == str(her.id) and tombstone.payload == b"" and tombstone.published_at is None
    assert ("frontdoor-tombstone", b"1") in stored_headers(tombstone)
    for row in rows:
        for name, detail in known.child.details().items():
            assert detail not in row.payload, (row.topic, name)
    event = DAIncidentReported.model_validate(json.loads(da_payload)["data"])  # a copy already on the topic:
    sealed = event.children[0].personal  # it still parses, and with her key gone it opens as erased
    assert open_sealed(None, sealed, da_child_context(event.contact_id, her.id)) is None


def test_a_redelivered_old_contact_or_decision_brings_nothing_back(engine: Engine) -> None:
    known = known_child(engine, 12)
    erase(engine, known)
    with Session(engine) as session:
        rows_before = len(session.exec(select(OutboxEvent)).all())
    redeliver(engine, known)
    with Session(engine) as session:
        people = session.exec(select(Person).where(col(Person.kind) == "child")).all()
        assert [(p.given_name, p.nhs_number, p.upn, p.erased_at is not None) for p in people] == [("", None, None,
                                                                                                   True)]
        assert session.exec(select(PersonKey)).all() == []  # never a key again from old data
        assert len(session.exec(select(OutboxEvent)).all()) == rows_before  # nothing emitted: duplicates
        decision = session.get(MashDecision, known.contact_id)
        assert decision is not None and decision.rationale == ""


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Iterator[tuple[Engine, Path]]:
    path = tmp_path / "contacts.db"
    built = build_engine(f"sqlite:///{path}")
    migrate(built)
    yield built, path
    built.dispose()


def file_bytes(engine: Engine, path: Path) -> bytes:
    """The database's bytes after a checkpoint (the WAL written back and truncated), the WAL included."""
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


def test_no_byte_of_her_details_is_left_in_the_sqlite_file(sqlite_file: tuple[Engine, Path]) -> None:
    engine, path = sqlite_file
    known = known_child(engine, 13)
    before = file_bytes(engine, path)
    found_before = {name: before.count(detail) for name, detail in known.child.details().items()}
    assert all(found_before.values()), found_before  # she is there, in every way, before
    erase(engine, known)
    redeliver(engine, known)
    after = file_bytes(engine, path)
    assert {name: after.count(detail) for name, detail in known.child.details().items() if detail in after} == {}
    assert known.child.police_reference.encode() not in after
