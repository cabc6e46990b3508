"""The people's data keys (`contacts.person-keys.v1`), as this service keeps
them: each wrapped with its own wrapping key (`NOTIFICATIONS_WRAPPING_KEY`,
`frontdoor_platform.wrapping`), never stored open, unwrapped only when a
sealed field is opened. A key record that does not unwrap, or has nothing
wrapped for this service, is the record's fault (dead-lettered). A tombstone
leaves the person's row without a key and marked erased, so an incident about
them read later is not waited on, and a key record of theirs read again is
not kept. Callers own the transaction.

Nothing here logs or raises a key, a ciphertext or a person's details."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.personal import PersonKeyIssued, SealBroken, WrappedKey, unwrap_key
from frontdoor_platform.wrapping import WrappingKey

from .models import PersonKeyRow
from .settings import SERVICE

log = logging.getLogger("notifications.keys")


@dataclass(frozen=True)
class PersonErased:
    """A tombstone on contacts.person-keys.v1: the person (by id) was erased."""

    person_id: uuid.UUID


def erased_from_key(key: bytes) -> PersonErased:
    """The tombstone's event, from the record's key (the person's id); anything else raises (poison)."""
    return PersonErased(uuid.UUID(key.decode("ascii")))


@dataclass(frozen=True)
class HeldKey:
    """A person's key as held here: the key, or None once the person was erased."""

    key: bytes | None


@dataclass(frozen=True)
class PersonKeys:
    """This service's wrapping key, and the keys it holds wrapped with it."""

    wrapping: WrappingKey

    def _unwrap(self, person_id: uuid.UUID, wrapped: WrappedKey) -> bytes:
        return unwrap_key(SERVICE, self.wrapping.key, person_id, wrapped)

    def issued(self, session: Session, issued: PersonKeyIssued, now: datetime) -> bool:
        """Keep the key (replacing an older one); InvalidEvent when the record has nothing for this service
        or it does not unwrap with this service's key. False, keeping nothing, once the person was erased
        here: an old key record read again (the topics are read apart) never brings their data back."""
        wrapped = issued.wrapped.get(SERVICE)
        if wrapped is None:
            raise InvalidEvent("no_key_for_service", [FieldError(f"wrapped.{SERVICE}", "missing",
                                                                 "nothing wrapped for this service")])
        try:
            self._unwrap(issued.person_id, wrapped)
        except SealBroken:
            raise InvalidEvent("key_does_not_unwrap", [FieldError(
                f"wrapped.{SERVICE}", "does_not_open", "the key does not unwrap with this service's key")]) from None
        row = session.get(PersonKeyRow, issued.person_id)
        if row is not None and row.erased_at is not None:
            return False
        row = row or PersonKeyRow(person_id=issued.person_id, recorded_at=now)
        row.service_key_id, row.nonce, row.ciphertext = wrapped.service_key_id, wrapped.nonce, wrapped.ciphertext
        row.issued_at, row.recorded_at = issued.issued_at, now
        session.add(row)
        return True

    def erased(self, session: Session, person_id: uuid.UUID, now: datetime) -> bool:
        """Drop the person's key and mark them erased; False when they were erased already."""
        row = session.get(PersonKeyRow, person_id)
        if row is not None and row.erased_at is not None and row.ciphertext is None:
            return False
        row = row or PersonKeyRow(person_id=person_id, recorded_at=now)
        row.service_key_id = row.nonce = row.ciphertext = None
        row.issued_at, row.recorded_at, row.erased_at = None, now, now
        session.add(row)
        return True

    def held(self, session: Session, person_id: uuid.UUID) -> HeldKey | None:
        """The person's key; HeldKey(None) once erased; None while it has not come (or no longer unwraps:
        the wrapping key changed since; logged, and treated as not come, so the child waits and is escalated
        rather than lost)."""
        row = session.get(PersonKeyRow, person_id)
        if row is None:
            return None
        if row.ciphertext is None or row.nonce is None or row.service_key_id is None:
            return HeldKey(None) if row.erased_at is not None else None
        try:
            return HeldKey(self._unwrap(person_id, WrappedKey(service_key_id=row.service_key_id, nonce=row.nonce,
                                                              ciphertext=row.ciphertext)))
        except (SealBroken, ValueError):
            log.warning("a stored person key does not unwrap with this service's wrapping key")
            return None
