"""Key records on contacts.person-keys.v1 this service cannot use, through
the kit's consumer and the service's routes on a real database (SQLite and
PostgreSQL): one that does not unwrap, has nothing for this service, or is
wrapped under a wrapping key id this service does not hold is recorded in
person_keys as unreadable (no key material kept), counted by reason, and
copied nowhere (no dead letter, nothing in the outbox); the person's
children wait and reach the MASH worklist as `key_unreadable`; a later
tombstone still applies, a later good key still opens them, and a key held
already is never replaced by an unreadable record. Records that are not a
key record at all are still dead-lettered. The previous wrapping key
(NOTIFICATIONS_WRAPPING_KEY_PREVIOUS) still unwraps what was wrapped under
it."""

from __future__ import annotations

import base64
import json
import secrets
import uuid
from datetime import timedelta
from typing import Any

from person_keys_world import KEYS, NOW, World, record
from sealed_children import privacy_request
from sqlalchemy.engine import Engine

from frontdoor_contracts.envelope import encode_event
from frontdoor_contracts.personal import wrap_key
from frontdoor_platform.wrapping import development_key
from notifications.models import DAChildRow, NotificationRow, OutboxEvent, PersonKeyRow, WorklistRow
from notifications.settings import SERVICE, Settings


def flipped(text: str) -> str:
    raw = bytearray(base64.b64decode(text))
    raw[0] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def outbox_bytes(world: World) -> bytes:
    return b"".join(row.payload + json.dumps(row.headers).encode() for row in world.rows(OutboxEvent))


def wrapped_with(world: World, child: dict[str, Any], key_id: str, key: bytes) -> dict[str, Any]:
    person = uuid.UUID(child["child_id"])
    return wrap_key(SERVICE, key_id, key, person, world.keys.key_of(person)).model_dump(mode="json")


def test_a_key_that_does_not_unwrap_is_recorded_unreadable_counted_and_copied_nowhere(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    good = world.key_data(amelia)["wrapped"][SERVICE]
    broken = {**good, "ciphertext": flipped(good["ciphertext"])}
    assert world.consume(world.key(amelia, wrapped={SERVICE: broken})) == []  # not dead-lettered
    [row] = world.rows(PersonKeyRow)
    assert (row.unreadable, row.ciphertext, row.nonce, row.erased_at) == ("does_not_unwrap", None, None, None)
    assert world.sample("person_keys_unreadable_total", reason="does_not_unwrap") == 1
    assert world.dead_letters(KEYS) == []
    copied = outbox_bytes(world)
    assert broken["ciphertext"].encode() not in copied and good["nonce"].encode() not in copied

    assert world.consume(world.incident(amelia)) == []  # her incident waits: nothing opens it
    assert world.rows(NotificationRow) == []
    assert world.sweep(NOW + timedelta(minutes=10)).key_missing == 1
    [item] = world.rows(WorklistRow)
    assert (item.kind, item.reason, item.child_id) == ("key_missing", "key_unreadable", uuid.UUID(amelia["child_id"]))

    assert world.consume(world.tombstone(amelia)) == []  # a later tombstone still applies
    [row] = world.rows(PersonKeyRow)
    assert (row.erased_at, row.unreadable, row.ciphertext) == (NOW, None, None)
    assert [r.resolution for r in world.rows(DAChildRow)] == ["erased"]


def test_a_record_with_nothing_for_this_service_is_unreadable_not_dead_lettered(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    other = world.key_data(amelia)["wrapped"][SERVICE]
    assert world.consume(world.key(amelia, wrapped={"allocation": other})) == []
    [row] = world.rows(PersonKeyRow)
    assert (row.unreadable, row.ciphertext, row.service_key_id) == ("no_key_for_service", None, None)
    assert world.sample("person_keys_unreadable_total", reason="no_key_for_service") == 1
    assert other["ciphertext"].encode() not in outbox_bytes(world)


def test_a_key_held_is_not_replaced_by_an_unreadable_record_and_a_good_one_opens_the_waiting(engine: Engine) -> None:
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    stolen = world.key(amelia, person_id=oliver["child_id"])  # wrapped for Amelia, claimed for Oliver
    assert world.consume(world.key(oliver), stolen) == []
    [row] = world.rows(PersonKeyRow)
    assert row.person_id == uuid.UUID(oliver["child_id"]) and row.ciphertext and row.unreadable is None
    assert world.sample("person_keys_unreadable_total", reason="does_not_unwrap") == 1

    assert world.consume(world.key(amelia, wrapped={"allocation": world.key_data(amelia)["wrapped"][SERVICE]}),
                         world.incident(amelia, oliver)) == []
    assert [n.given_name for n in world.rows(NotificationRow)] == ["Oliver"]  # Amelia waits
    assert world.consume(world.key(amelia)) == []  # contacts sends her key again, readable: she is told
    assert sorted(n.given_name or "" for n in world.rows(NotificationRow)) == ["Amelia", "Oliver"]
    assert {r.unreadable for r in world.rows(PersonKeyRow)} == {None}


def test_an_erasure_request_finds_and_erases_a_key_recorded_unreadable(engine: Engine) -> None:
    world = World(engine)
    amelia = world.child("Amelia")
    assert world.consume(world.key(amelia, wrapped={"allocation": world.key_data(amelia)["wrapped"][SERVICE]})) == []
    request, _ = privacy_request("erase", [uuid.UUID(amelia["child_id"])])
    assert world.consume(record("privacy.requests.v1", encode_event(request), str(request.data.request_id))) == []
    [row] = world.rows(PersonKeyRow)
    assert (row.erased_at, row.unreadable) == (NOW, None)
    assert world.consume(world.key(amelia)) == []  # her key record read again, readable: not kept
    [row] = world.rows(PersonKeyRow)
    assert row.ciphertext is None and row.erased_at == NOW


def test_records_that_are_not_key_records_are_still_dead_lettered(engine: Engine) -> None:
    world = World(engine)
    assert sorted(world.consume(record(KEYS, b"{not json", "x"), record(KEYS, None, "not-a-uuid"))) == [
        (KEYS, "not_json"), (KEYS, "undecodable")]
    assert world.rows(PersonKeyRow) == []


def test_a_key_under_a_wrapping_key_id_this_service_does_not_hold_is_unreadable(engine: Engine) -> None:
    """Rotation is not supported yet: a key id this service does not hold is named as such, even when the
    bytes would open with the key it holds (the ids are how contacts and this service agree)."""
    world = World(engine)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    renamed = wrapped_with(world, amelia, "2027-01", development_key(SERVICE).key)
    rotated = wrapped_with(world, oliver, "2027-01", secrets.token_bytes(32))
    assert world.consume(world.key(amelia, wrapped={SERVICE: renamed}),
                         world.key(oliver, wrapped={SERVICE: rotated})) == []
    rows = world.rows(PersonKeyRow)
    assert {(r.unreadable, r.service_key_id, r.ciphertext) for r in rows} == {("unknown_key_id", "2027-01", None)}
    assert world.sample("person_keys_unreadable_total", reason="unknown_key_id") == 2
    assert world.consume(world.incident(amelia, oliver)) == [] and world.rows(NotificationRow) == []


def test_the_previous_wrapping_key_still_unwraps_what_was_wrapped_under_it(engine: Engine) -> None:
    new = secrets.token_bytes(32)
    settings = Settings(wrapping_key=base64.b64encode(new).decode(), wrapping_key_id="2027-01",
                        wrapping_key_previous=base64.b64encode(development_key(SERVICE).key).decode(),
                        wrapping_key_previous_id="development")
    world = World(engine, settings)
    amelia, oliver = world.child("Amelia"), world.child("Oliver")
    assert world.consume(world.key(amelia),  # wrapped under the previous key, "development"
                         world.key(oliver, wrapped={SERVICE: wrapped_with(world, oliver, "2027-01", new)}),
                         world.incident(amelia, oliver)) == []
    assert sorted(n.given_name or "" for n in world.rows(NotificationRow)) == ["Amelia", "Oliver"]
    assert {(r.service_key_id, r.unreadable) for r in world.rows(PersonKeyRow)} == {
        ("development", None), ("2027-01", None)}
