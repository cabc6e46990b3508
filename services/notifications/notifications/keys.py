"""The people's data keys (`contacts.person-keys.v1`), as this service keeps
them: each wrapped with its own wrapping key (`NOTIFICATIONS_WRAPPING_KEY`,
`frontdoor_platform.wrapping`), never stored open, unwrapped only when a
sealed field is opened.

A key record this service cannot use (nothing wrapped for it, wrapped under
a wrapping key id it does not hold, or not unwrapping with the key of that
id) is recorded unreadable: the row keeps the reason and the key id named,
never the wrapped key, and nothing of it is copied anywhere (a dead letter
would keep the wrapped key on a topic for 30 days, past the person's
tombstone). The person's children wait for a key that opens them (and reach
the MASH worklist); a later readable record is kept, a later tombstone
applies. An unreadable record never replaces a key held. Rotation is not
supported yet: besides its key, the service holds at most the previous one
(`NOTIFICATIONS_WRAPPING_KEY_PREVIOUS`), for unwrapping only.

A tombstone leaves the person's row without a key and marked erased, so an
incident about them read later is not waited on, and a key record of theirs
read again is not kept. A key record, its tombstone and an erasure request
about one person lock the person's row (`_locked`), whichever worker reads
them. Callers own the transaction.

Nothing here logs or raises a key, a ciphertext or a person's details."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from frontdoor_contracts.personal import PersonKeyIssued, SealBroken, WrappedKey, unwrap_key
from frontdoor_platform.wrapping import WrappingKey

from .domain.outcome import DOES_NOT_UNWRAP, NO_KEY_FOR_SERVICE, UNKNOWN_KEY_ID
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


def _locked(session: Session, person_id: uuid.UUID) -> PersonKeyRow | None:
    """The person's row, locked until the caller's commit (PostgreSQL; SQLite has one writer): a key and a
    tombstone or an erasure request applied by two workers at once take turns, so a key never lands on a
    row erased meanwhile. Two inserting a new row at once: one fails its batch on the key, and the kit's
    consumer runs that record again, seeing the other's row."""
    return session.get(PersonKeyRow, person_id, with_for_update=True, populate_existing=True)


@dataclass(frozen=True)
class HeldKey:
    """A person's key as held here: the key, or None once the person was erased."""

    key: bytes | None


class Unreadable(Exception):
    """A wrapped key this service cannot unwrap; `reason` is one of UNREADABLE_KEY."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


ISSUED, IGNORED = "issued", "ignored"


@dataclass(frozen=True)
class PersonKeys:
    """This service's wrapping key (and the previous one, for unwrapping only), and the keys it holds
    wrapped with them."""

    wrapping: WrappingKey
    previous: WrappingKey | None = None

    def _unwrap(self, person_id: uuid.UUID, wrapped: WrappedKey) -> bytes:
        by_id = {key.key_id: key for key in (self.previous, self.wrapping) if key is not None}
        key = by_id.get(wrapped.service_key_id)
        if key is None:
            raise Unreadable(UNKNOWN_KEY_ID)
        try:
            return unwrap_key(SERVICE, key.key, person_id, wrapped)
        except (SealBroken, ValueError):
            raise Unreadable(DOES_NOT_UNWRAP) from None

    def issued(self, session: Session, issued: PersonKeyIssued, now: datetime) -> str:
        """Keep the key (replacing an older one): ISSUED. IGNORED, keeping nothing, once the person was erased
        here: an old key record read again (the topics are read apart) never brings their data back. One of
        UNREADABLE_KEY when this service cannot unwrap it: recorded so (no key material kept) unless a key is
        held already, which stays."""
        row = _locked(session, issued.person_id)
        if row is not None and row.erased_at is not None:
            return IGNORED
        wrapped = issued.wrapped.get(SERVICE)
        try:
            if wrapped is None:
                raise Unreadable(NO_KEY_FOR_SERVICE)
            self._unwrap(issued.person_id, wrapped)
        except Unreadable as unreadable:
            if row is None or row.ciphertext is None:
                row = row or PersonKeyRow(person_id=issued.person_id, recorded_at=now)
                row.service_key_id = wrapped.service_key_id if wrapped is not None else None
                row.nonce = row.ciphertext = None
                row.unreadable, row.issued_at, row.recorded_at = unreadable.reason, issued.issued_at, now
                session.add(row)
            log.warning("a person key record does not unwrap here; recorded unreadable",
                        extra={"reason": unreadable.reason})
            return unreadable.reason
        assert wrapped is not None
        row = row or PersonKeyRow(person_id=issued.person_id, recorded_at=now)
        row.service_key_id, row.nonce, row.ciphertext = wrapped.service_key_id, wrapped.nonce, wrapped.ciphertext
        row.issued_at, row.recorded_at, row.unreadable = issued.issued_at, now, None
        session.add(row)
        return ISSUED

    def erased(self, session: Session, person_id: uuid.UUID, now: datetime) -> bool:
        """Drop the person's key and mark them erased; False when they were erased already."""
        row = _locked(session, person_id)
        if row is not None and row.erased_at is not None and row.ciphertext is None:
            return False
        row = row or PersonKeyRow(person_id=person_id, recorded_at=now)
        row.service_key_id = row.nonce = row.ciphertext = row.unreadable = None
        row.issued_at, row.recorded_at, row.erased_at = None, now, now
        session.add(row)
        return True

    def held(self, session: Session, person_id: uuid.UUID) -> HeldKey | None:
        """The person's key; HeldKey(None) once erased; None while no key that opens has come (none yet, an
        unreadable record, or a stored key that no longer unwraps: the wrapping key changed since, logged), so
        the child waits and is escalated rather than lost."""
        row = session.get(PersonKeyRow, person_id)
        if row is None:
            return None
        if row.erased_at is not None:
            return HeldKey(None)
        if row.ciphertext is None or row.nonce is None or row.service_key_id is None:
            return None
        try:
            stored = WrappedKey(service_key_id=row.service_key_id, nonce=row.nonce, ciphertext=row.ciphertext)
            return HeldKey(self._unwrap(person_id, stored))
        except (Unreadable, ValueError) as failed:
            log.warning("a stored person key does not unwrap with this service's wrapping keys",
                        extra={"reason": failed.reason if isinstance(failed, Unreadable) else DOES_NOT_UNWRAP})
            return None
