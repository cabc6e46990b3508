"""Which families a transaction holds: the one lock every change to a family's cases takes first, so several
workers on PostgreSQL change a family's cases one at a time (a trigger, a merge), and a merge and a trigger
for a family it merges cannot miss each other.

On PostgreSQL a family is held with a transaction-level advisory lock keyed by the family (released at
commit or rollback, and with a savepoint rolled back to), taken in one order (the key's) by everybody, so two
batches naming the same families in different orders wait for each other instead of deadlocking: a batch's
routes say which families it names (`expect`, from the kit's prefetch) and its first change holds them all
at once. What a family is part of now (`family_aliases`) is read again once it is held: a merge that
committed while it waited is followed, and the family it joined held too. SQLite has one writer at a time:
nothing to take.

The database keeps the rules on its own as well: one open case per family is a partial unique index (a
case opened against it is not inserted: `store.insert_case`), and a case is changed only at the version it
was read at (`store.save_case`)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session

from . import store

NAMESPACE = 0x46440A01  # the advisory locks' first key: allocation's families (the second: the family's)
HELD = "allocation_families_held"
EXPECTED = "allocation_families_expected"


def lock_key(family_id: uuid.UUID) -> int:
    """The family's advisory lock key (32 bits of its id: two families sharing one only wait for each other)."""
    return int.from_bytes(family_id.bytes[:4], "big", signed=True)


def expect(session: Session, family_ids: Iterable[uuid.UUID]) -> None:
    """Families this transaction's batch names: held together, in order, by its first change."""
    session.info.setdefault(EXPECTED, set()).update(family_ids)


def _take(session: Session, family_ids: Iterable[uuid.UUID]) -> None:
    held: set[uuid.UUID] = session.info.setdefault(HELD, set())
    wanted = {family_id for family_id in family_ids if family_id not in held}
    if not wanted:
        return
    keys = sorted({lock_key(family_id) for family_id in wanted})
    session.execute(text("SELECT pg_advisory_xact_lock(:namespace, key) FROM unnest(CAST(:keys AS integer[])) AS key"),
                    {"namespace": NAMESPACE, "keys": keys})
    held.update(wanted)


def hold(session: Session, family_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """Hold these families, those the batch named, and the families each is part of now; returns the family
    each given one is part of now (itself, unless it was merged)."""
    named = set(family_ids)
    wanted = named | session.info.pop(EXPECTED, set())
    now = store.families_now(session, wanted)
    if session.get_bind().dialect.name != "postgresql":  # one writer at a time: nothing moves while it writes
        return {family_id: now[family_id] for family_id in named}
    while True:
        _take(session, [*wanted, *now.values()])
        again = store.families_now(session, wanted)  # a merge may have committed while this waited
        if again == now:
            return {family_id: now[family_id] for family_id in named}
        now = again


def hold_one(session: Session, family_id: uuid.UUID) -> uuid.UUID:
    """Hold the family (and what the batch named); the family it is part of now."""
    return hold(session, [family_id])[family_id]
