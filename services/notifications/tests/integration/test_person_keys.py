"""A DA child's sealed fields and its key, on different topics, through the
kit's consumer and the service's routes on a real database (SQLite and
PostgreSQL): the key first or the incident first, nothing lost and nothing
told twice; a tombstone erases; a sealed value that does not open makes
its child unreadable (on the worklist, the incident dead-lettered), whether
its key came first or later; a key that never comes reaches the MASH
worklist."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from person_keys_world import DA, NOW, REPORTED, World, record
from sealed_children import tampered
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.database import for_writing
from frontdoor_platform.outbox_table import stored_headers
from notifications.models import (
    DAChildRow,
    DeliveryRow,
    NotificationRow,
    PersonKeyRow,
    WaitingChildRow,
    WorklistRow,
)


def test_the_key_first_then_the_incident_tells_the_school_the_childs_name(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia", upn="H801200001001", police_reference="MPS/2026/1")
    assert world.consume(world.key(amelia), world.incident(amelia)) == []
    [note] = world.rows(NotificationRow)
    assert (note.given_name, note.upn, note.police_reference) == ("Amelia", "H801200001001", "MPS/2026/1")
    assert world.rows(WaitingChildRow) == []
    [kept] = world.rows(PersonKeyRow)  # kept wrapped, never open
    assert kept.person_id == uuid.UUID(amelia["child_id"]) and kept.ciphertext and kept.erased_at is None
    assert world.keys.key_of(kept.person_id) not in (kept.ciphertext or "").encode()


def test_the_incident_first_waits_and_is_told_once_when_the_key_comes(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver", present=False)
    assert world.consume(world.key(oliver), world.incident(amelia, oliver), world.incident(amelia, oliver)) == []
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Oliver"]  # his key was there
    [waiting_row] = world.rows(WaitingChildRow)  # hers was not: nothing lost, nothing stalled
    assert waiting_row.child_id == uuid.UUID(amelia["child_id"]) and b"Amelia" not in waiting_row.incident.encode()
    assert world.consume(world.key(amelia), world.incident(amelia, oliver), world.key(amelia)) == []
    notes = sorted(world.rows(NotificationRow), key=lambda n: n.given_name or "")
    assert [(n.given_name, n.child_present) for n in notes] == [("Amelia", True), ("Oliver", False)]
    assert len(world.rows(DeliveryRow)) == 2 and world.rows(WaitingChildRow) == []
    assert {r.resolution for r in world.rows(DAChildRow)} == {"on_event"}


def test_incident_then_key_in_one_batch_and_a_child_found_by_its_upn_once_the_key_opens_it(engine: Engine) -> None:
    world = World(engine)
    enrolled = record("schools.enrolments.v1", json.dumps({
        "specversion": "1.0", "id": "en1", "source": "urn:la:test:census",
        "type": "uk.gov.frontdoor.schools.pupil-enrolled.v1", "time": REPORTED.isoformat(),
        "data": {"upn": "H801200001001", "school_urn": "100001", "starts_on": "2026-09-02"}}).encode())
    amelia = world.child("Amelia", upn="H801200001001", school_urn=None)  # the UPN is sealed: routing needs the key
    assert world.consume(enrolled, world.incident(amelia), world.key(amelia)) == []
    [note] = world.rows(NotificationRow)
    assert (note.recipient_id, note.upn) == ("100001", "H801200001001")
    assert [r.resolution for r in world.rows(DAChildRow)] == ["by_enrolment"]


def test_a_tombstone_drops_the_key_and_erases_the_childs_notifications(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia", upn="H801200001001"), world.child("Oliver")
    assert world.consume(world.key(amelia), world.key(oliver), world.incident(amelia, oliver)) == []
    assert world.consume(world.tombstone(amelia), world.tombstone(amelia)) == []  # and again: nothing more
    notes = {n.given_name or "erased": n for n in world.rows(NotificationRow)}
    assert set(notes) == {"erased", "Oliver"}
    erased = notes["erased"]
    assert (erased.upn, erased.police_reference, erased.date_of_birth, erased.erased_at) == (None, None, None, NOW)
    assert erased.deadline is not None and erased.child_id == uuid.UUID(amelia["child_id"])  # ids and times stay
    keys = {k.person_id: k for k in world.rows(PersonKeyRow)}
    assert keys[uuid.UUID(amelia["child_id"])].ciphertext is None
    assert keys[uuid.UUID(amelia["child_id"])].erased_at == NOW
    assert keys[uuid.UUID(oliver["child_id"])].ciphertext is not None
    # an incident about her read later (replayed, or a second incident) is not waited on and tells nobody
    world.contact = uuid.uuid4()
    later = world.keys.child(world.contact, uuid.UUID(amelia["child_id"]), given_name="Amelia", school_urn="100001")
    assert world.consume(world.incident(later)) == []
    assert world.rows(WaitingChildRow) == [] and len(world.rows(NotificationRow)) == 2
    assert sorted(r.resolution for r in world.rows(DAChildRow)) == ["erased", "on_event", "on_event"]


def test_a_tombstone_that_erased_says_so_and_the_kits_consumer_checkpoints_the_wal(engine: Engine) -> None:
    """(The checkpoint itself, through the kit's consumer on a broker: tests/e2e/notifications.)"""
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    assert world.consume(world.key(amelia), world.incident(amelia)) == [] and world.erasing == [False, False]
    assert world.consume(world.tombstone(amelia)) == [] and world.erasing == [True]
    assert world.consume(world.tombstone(amelia)) == [] and world.erasing == [False]  # nothing left to erase
    assert world.consume(world.incident(oliver)) == [] and world.consume(world.tombstone(oliver)) == []
    assert world.erasing == [True]  # the sealed incident waiting for his key: deleted, recorded erased


def test_a_child_waiting_for_a_key_that_is_tombstoned_is_recorded_erased(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    assert world.consume(world.incident(amelia)) == []
    assert world.consume(world.tombstone(amelia)) == []
    assert world.rows(WaitingChildRow) == [] and world.rows(NotificationRow) == []
    assert [r.resolution for r in world.rows(DAChildRow)] == ["erased"]


def test_a_sealed_value_that_does_not_open_is_dead_lettered_before_or_after_its_key(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    broken = world.incident(tampered(amelia))
    assert world.consume(world.key(amelia), broken) == []  # its key here: unreadable at once (the child's fault)
    assert world.rows(NotificationRow) == [] and [r.resolution for r in world.rows(DAChildRow)] == ["unreadable"]
    late = world.incident(tampered(oliver))
    assert world.consume(late) == []  # no key yet: it waits
    assert world.consume(world.key(oliver)) == []  # the key is fine: the incident is the fault
    letters = world.dead_letters()
    assert sorted(r.event_id for r in letters) == sorted(f"dlq:{DA}:0:{r.offset}" for r in (broken, late))
    assert [r.resolution for r in world.rows(DAChildRow)] == ["unreadable", "unreadable"]
    assert sorted((i.kind, i.reason, i.child_id) for i in world.rows(WorklistRow)) == sorted(
        ("unreadable", "sealed_broken", uuid.UUID(child["child_id"])) for child in (amelia, oliver))
    assert world.rows(WaitingChildRow) == [] and world.rows(NotificationRow) == []


def test_sealed_fields_under_another_key_are_unreadable_and_dead_lettered(engine: Engine) -> None:
    """(Key records this service cannot unwrap: test_unreadable_keys.py.)"""
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    moved = {**amelia, "personal": oliver["personal"]}  # Oliver's sealed fields on Amelia's entry
    assert world.consume(world.key(oliver), world.incident(moved)) == []
    [letter] = world.dead_letters()
    assert dict(stored_headers(letter))["dlq.reason"] == b"sealed_for_another"
    assert [r.resolution for r in world.rows(DAChildRow)] == ["unreadable"] and world.rows(NotificationRow) == []


def test_a_key_that_never_comes_reaches_the_mash_worklist_and_the_item_closes_when_it_does(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    assert world.consume(world.incident(amelia)) == []
    assert world.sweep(NOW + timedelta(minutes=9)).key_missing == 0
    assert world.sweep(NOW + timedelta(minutes=10)).key_missing == 1
    assert world.sweep(NOW + timedelta(minutes=11)).key_missing == 0  # once
    [item] = world.rows(WorklistRow)
    assert (item.kind, item.child_id, item.resolved_at) == ("key_missing", uuid.UUID(amelia["child_id"]), None)
    assert world.consume(world.key(amelia), now=NOW + timedelta(minutes=12)) == []
    [item] = world.rows(WorklistRow)
    assert (item.resolved_at, item.resolved_by) == (NOW + timedelta(minutes=12), "notifications:key_received")
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Amelia"]


def test_the_sweep_routes_a_child_whose_key_came_without_resuming_it(engine: Engine) -> None:
    """Two workers: one commits the key, the other the incident, each seeing nothing of the other."""
    world = World(engine)
    amelia = world.child("Amelia")
    assert world.consume(world.incident(amelia)) == []
    with Session(for_writing(engine)) as session:  # the key kept without looking at the children waiting
        world.rules.keys.issued(session, world.keys.key_event(uuid.UUID(amelia["child_id"])).data, NOW)
        session.commit()
    assert world.rows(NotificationRow) == []
    done = world.sweep(NOW + timedelta(seconds=5))
    assert sum(done.created.values()) == 1 and done.key_missing == 0
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Amelia"] and world.rows(WaitingChildRow) == []


def test_a_key_record_read_again_after_the_tombstone_brings_nothing_back(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    old_key = world.key(amelia)
    assert world.consume(old_key, world.tombstone(amelia)) == []
    assert world.consume(world.key(amelia), world.incident(amelia)) == []  # the old key record read again
    [kept] = world.rows(PersonKeyRow)
    assert kept.ciphertext is None and kept.erased_at == NOW
    assert world.rows(NotificationRow) == [] and [r.resolution for r in world.rows(DAChildRow)] == ["erased"]
