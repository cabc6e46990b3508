"""Each person's data key (`frontdoor_contracts.personal`): made the first time something about them is
sealed (a DA incident naming a child), kept in `person_keys` sealed under the contacts service's own
wrapping key, and published once on the compacted `contacts.person-keys.v1` (keyed by the person's id),
wrapped for each service that reads the topic with that service's wrapping key. Erasing the person
deletes the key and publishes a tombstone (a null value under their id): every value sealed with it is
then unreadable by anyone, on every topic.

An erased person never gets a key again: whatever names them afterwards (old data redelivered, a cache
of a batch) is refused as the record's fault. Nothing here logs or raises a key."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col, select

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.personal import (
    PersonKeyIssued,
    SealBroken,
    WrappedKey,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from frontdoor_contracts.topics import CONTACTS, CONTACTS_PERSON_KEYS
from frontdoor_platform import outbox
from frontdoor_platform.wrapping import WrappingKey

from .models import OutboxEvent, Person, PersonKey
from .settings import Settings

MADE_HERE = "contacts.person_keys"  # session.info: the keys made in this transaction, not yet flushed


@dataclass(frozen=True)
class Sealing:
    """The wrapping keys the contacts service seals with: its own (the data keys at rest, its share of a
    privacy request) and every service's (`services`; contacts' own entry is `own`)."""

    own: WrappingKey
    services: Mapping[str, WrappingKey]

    @classmethod
    def of(cls, settings: Settings) -> Sealing:
        own = settings.own_wrapping_key(CONTACTS)
        return cls(own, {**settings.services_wrapping_keys(), CONTACTS: own})

    def key_readers(self) -> dict[str, WrappingKey]:
        """The services that read contacts.person-keys.v1, with their wrapping keys."""
        return {service: self.services[service] for service in CONTACTS_PERSON_KEYS.consumers}

    def __repr__(self) -> str:  # never a key
        return f"Sealing(own={self.own!r}, services={sorted(self.services)})"


class PersonErased(InvalidEvent):
    """Something would seal personal fields about a person who was erased."""


def _person_fault(reason: str, message: str) -> InvalidEvent:
    return PersonErased(reason, [FieldError("data.children", reason, message)])


def data_keys(session: Session, sealing: Sealing, people: Sequence[Person], now: datetime
              ) -> tuple[dict[uuid.UUID, bytes], list[PersonKeyIssued]]:
    """Each person's data key, made (and to be published: the `PersonKeyIssued` returned, for the caller's
    outbox, before what it seals) for those who have none yet. An erased person, or a key that does not open
    under this service's wrapping key, is the record's fault (it is dead-lettered, nothing sealed)."""
    made: dict[uuid.UUID, bytes] = session.info.setdefault(MADE_HERE, {})
    keys: dict[uuid.UUID, bytes] = {}
    issued: list[PersonKeyIssued] = []
    for person in people:
        if person.id in keys:
            continue
        if person.erased_at is not None:
            raise _person_fault("person_erased", "a child named was erased: nothing is sealed for them again")
        if person.id in made:
            keys[person.id] = made[person.id]
            continue
        with session.no_autoflush:  # a key added in this session is in `made`: flushing the batch here, once per
            stored = session.get(PersonKey, person.id)  # DA contact, cost a quarter of the consumer's time
        if stored is not None:
            keys[person.id] = _open(sealing.own, stored)
            continue
        key = made[person.id] = keys[person.id] = new_data_key()
        at_rest = wrap_key(CONTACTS, sealing.own.key_id, sealing.own.key, person.id, key)
        session.add(PersonKey(person_id=person.id, wrapping_key_id=at_rest.service_key_id, nonce=at_rest.nonce,
                              ciphertext=at_rest.ciphertext, created_at=now))
        wrapped = {service: wrap_key(service, reader.key_id, reader.key, person.id, key)
                   for service, reader in sealing.key_readers().items()}
        issued.append(PersonKeyIssued(person_id=person.id, wrapped=wrapped, issued_at=now))
    return keys, issued


def _open(own: WrappingKey, stored: PersonKey) -> bytes:
    if stored.wrapping_key_id != own.key_id:
        raise _person_fault("person_key_unreadable", "a child's key is sealed under another wrapping key")
    try:
        return unwrap_key(CONTACTS, own.key, stored.person_id, WrappedKey(
            service_key_id=stored.wrapping_key_id, nonce=stored.nonce, ciphertext=stored.ciphertext))
    except (SealBroken, ValueError):
        raise _person_fault("person_key_unreadable", "a child's key does not open with this service's key") from None


def held(session: Session, person_ids: Iterable[uuid.UUID]) -> Sequence[PersonKey]:
    ids = list(person_ids)
    if not ids:
        return ()
    return session.exec(select(PersonKey).where(col(PersonKey.person_id).in_(ids))).all()


def destroy(session: Session, person_ids: Iterable[uuid.UUID], now: datetime) -> int:
    """Delete the people's keys and put a tombstone for each on contacts.person-keys.v1 (the outbox): every
    value sealed with them becomes unreadable. How many keys were deleted."""
    ids = [key.person_id for key in held(session, person_ids)]
    if not ids:
        return 0
    made: dict[uuid.UUID, bytes] = session.info.get(MADE_HERE, {})
    for person_id in ids:
        made.pop(person_id, None)
        outbox.add_tombstone(session, OutboxEvent, CONTACTS_PERSON_KEYS.name, str(person_id),
                             f"person-key-erased:{person_id}", now)
    session.execute(delete(PersonKey).where(col(PersonKey.person_id).in_(ids)))
    return len(ids)
