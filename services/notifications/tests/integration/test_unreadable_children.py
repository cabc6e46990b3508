"""A DA incident with one child whose sealed fields are broken (altered, or
another child's), through the kit's consumer and the service's routes on a
real database (SQLite and PostgreSQL): each child on its own. The intact
sibling is told; the broken child is recorded unreadable, counted and put
on the MASH worklist; the incident goes to the dead-letter topic once, as
evidence (re-encoded, its sealed values still sealed), however often it is
read and however many of its children are broken; the same whether the keys
came before the incident or after."""

from __future__ import annotations

import uuid

from person_keys_world import DA, World
from sealed_children import tampered
from sqlalchemy.engine import Engine

from notifications.models import DAChildRow, NotificationRow, WaitingChildRow, WorklistRow


def resolutions(world: World) -> dict[uuid.UUID, str]:
    return {row.child_id: row.resolution for row in world.rows(DAChildRow)}


def test_one_childs_broken_seal_does_not_lose_her_siblings_notification(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    incident = world.incident(tampered(amelia), oliver)
    assert world.consume(world.key(amelia), world.key(oliver), incident) == []  # not the whole record's fault
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Oliver"]
    assert resolutions(world) == {uuid.UUID(amelia["child_id"]): "unreadable",
                                  uuid.UUID(oliver["child_id"]): "on_event"}
    [item] = world.rows(WorklistRow)
    assert (item.kind, item.reason, item.child_id, item.contact_id) == (
        "unreadable", "sealed_broken", uuid.UUID(amelia["child_id"]), world.contact)
    [letter] = world.dead_letters()
    assert letter.event_id == f"dlq:{DA}:0:{incident.offset}" and str(world.contact).encode() in letter.payload
    assert b"Amelia" not in letter.payload and b"Oliver" not in letter.payload  # still sealed
    assert world.sample("children_resolved_total", resolution="unreadable") == 1
    assert world.sample("dead_lettered_total", topic=DA, reason="sealed_broken") == 1

    assert world.consume(incident) == []  # read again: nothing more
    assert len(world.rows(NotificationRow)) == 1 and len(world.rows(WorklistRow)) == 1
    assert len(world.dead_letters()) == 1
    assert world.sample("dead_lettered_total", topic=DA, reason="sealed_broken") == 1


def test_every_child_broken_is_one_dead_letter_and_an_item_each(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    moved = {**amelia, "personal": oliver["personal"]}  # Oliver's sealed fields on Amelia's entry
    assert world.consume(world.key(amelia), world.key(oliver), world.incident(moved, tampered(oliver))) == []
    assert world.rows(NotificationRow) == []
    assert set(resolutions(world).values()) == {"unreadable"}
    assert sorted((i.reason, i.child_id) for i in world.rows(WorklistRow)) == sorted([
        ("sealed_broken", uuid.UUID(oliver["child_id"])), ("sealed_for_another", uuid.UUID(amelia["child_id"]))])
    assert len(world.dead_letters()) == 1
    assert world.sample("children_resolved_total", resolution="unreadable") == 2
    assert world.sample("dead_lettered_total", topic=DA, reason="sealed_for_another") \
        + world.sample("dead_lettered_total", topic=DA, reason="sealed_broken") == 1


def test_a_sibling_whose_key_comes_later_is_told_and_the_broken_child_is_not_waited_on(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    moved = {**amelia, "personal": oliver["personal"]}  # under another key: unreadable whatever key comes
    assert world.consume(world.incident(moved, oliver)) == []
    assert [w.child_id for w in world.rows(WaitingChildRow)] == [uuid.UUID(oliver["child_id"])]
    assert resolutions(world) == {uuid.UUID(amelia["child_id"]): "unreadable"}
    assert world.consume(world.key(oliver)) == []
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Oliver"]
    assert len(world.dead_letters()) == 1 and world.rows(WaitingChildRow) == []
