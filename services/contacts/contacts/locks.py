"""The database's locks on the contacts service's shared decisions, so that any number of workers in one
consumer group (on PostgreSQL) decide as one worker would: who a child or an adult is, their family and
any merge, a person's data key, a child's referral history, whether a contact, a decision or a partner
record was applied already.

A decision is made on what was read, so the lock is taken before the read and held to the commit:
PostgreSQL's transaction-level advisory locks on the values the decision is about. A value can be locked
before any row holds it (nobody has that NHS number yet: the two workers that would both create the
child wait for each other), and nothing is stored. What is locked, by name:

- `contact:<id>`: recording the contact, a decision on it (or parking one for it), erasing it;
- `nhs:`, `upn:`, `name:` (the demographic key), `uprn:`: looking people up by them, creating a person
  who has them, erasing or correcting them;
- `family:<id>` (or `person:<id>` for someone without a family): reading who is in it and changing that
  (placing someone, a merge, an erasure). People are read after their keys are locked, their families
  locked next, and read again until the families read are the ones held (`settle`): a merge that moved
  them meanwhile is seen;
- `referrals:<child id>`: reading a child's referrals and adding one;
- `delivery:<key>`: applying a partner record's delivery.

Each transaction takes the locks of a whole batch at once where it can (the look-ups' prefetch), in one
order (by the lock's number), so two workers do not each wait for the other. Where they still do (locks
a handler takes later, in another order), PostgreSQL finds the deadlock and rolls one transaction back;
the consumer applies that batch again from its last commit. PostgreSQL's lock table is shared and
bounded, so a transaction holds at most `BUDGET` of these: every transaction first takes the `INDEX`
lock shared, and one that would need more (a large batch) takes it exclusively instead of any other, and
runs alone. SQLite has one writer at a time (and the service one worker on it): nothing is taken there.
Lock names never reach a log (they hold identifiers); the numbers are one-way hashes of them."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, col, select

from .domain.people import PersonFacts, demographic_key
from .models import Person

INDEX = 0x46440C01  # the contacts service's locks as a whole (beside frontdoor_platform.database.MIGRATION_LOCK)
BUDGET = 512  # the most locks one transaction holds (PostgreSQL's default lock table holds about 12,000)
FIRST_AT_MOST = BUDGET // 2  # a first call asking more goes exclusive at once (its families may double it)
# The index shared (the first number), then each value's lock, in the array's order (one statement).
SHARED_THEN_EACH = text("SELECT count(CASE WHEN n = 1 THEN pg_advisory_xact_lock_shared(k) "
                        "ELSE pg_advisory_xact_lock(k) END) FROM unnest(CAST(:keys AS bigint[])) "
                        "WITH ORDINALITY AS wanted(k, n)")
BOOK = "contacts.locks"  # session.info: what this transaction holds (copied and restored with a savepoint)


def in_force(session: Session) -> bool:
    """Are locks taken on this session's database? (PostgreSQL: yes; SQLite: one writer at a time.)"""
    return session.get_bind().dialect.name == "postgresql"


def number(name: str) -> int:
    """A lock's number: 64 bits of a hash of its name (a collision only makes two decisions wait)."""
    digest = hashlib.blake2b(name.encode(), digest_size=8, person=b"frontdoor-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


def contact(contact_id: uuid.UUID) -> str:
    return f"contact:{contact_id}"


def referrals(child_id: uuid.UUID) -> str:
    return f"referrals:{child_id}"


def delivery(key: uuid.UUID) -> str:
    return f"delivery:{key}"


def family(person: Person) -> str:
    return f"family:{person.family_id}" if person.family_id is not None else f"person:{person.id}"


def uprn(value: str | None) -> list[str]:
    return [f"uprn:{value}"] if value else []


def person_keys(facts: PersonFacts) -> list[str]:
    """The keys people with these facts are looked up by (and a new person would hold)."""
    key = demographic_key(facts)
    return ([f"nhs:{facts.nhs_number}"] if facts.nhs_number else []) + ([f"upn:{facts.upn}"] if facts.upn else []) \
        + ([f"name:{key}"] if key else [])


def held_keys(person: Person) -> list[str]:
    """The keys a stored person holds now (an erasure or a correction changes them)."""
    return ([f"nhs:{person.nhs_number}"] if person.nhs_number else []) \
        + ([f"upn:{person.upn}"] if person.upn else []) \
        + ([f"name:{person.demographic_key}"] if person.demographic_key else []) + uprn(person.uprn)


def hold(session: Session, names: Iterable[str]) -> None:
    """Take the locks named (waiting for any other transaction that holds one), held until this
    transaction ends. Taking one again is harmless."""
    if not in_force(session):
        return
    wanted = sorted({number(name) for name in names})
    if not wanted:
        return
    book = _book(session)
    exclusive = book["exclusive"] or book["count"] + len(wanted) > BUDGET \
        or (book["count"] == 0 and len(wanted) > FIRST_AT_MOST)
    if exclusive:  # taken again each time: a savepoint rolled back may have let it go with what it held
        session.execute(text("SELECT pg_advisory_xact_lock(:index)"), {"index": INDEX})
        book["exclusive"] = True
        return
    session.execute(SHARED_THEN_EACH, {"keys": [INDEX, *wanted]})
    book["count"] += len(wanted)


def settle(session: Session, people: Sequence[Person]) -> None:
    """Hold the family lock of each of `people` (read after their keys were locked), then read them again
    (over what the session holds) until their families are all held: what another worker changed before
    letting a family go (a merge, a postcode) shows."""
    if not people or not in_force(session) or _book(session)["exclusive"]:  # alone: nobody changes anyone
        return
    ids, held = [person.id for person in people], set[str]()
    while wanted := {family(person) for person in people} - held:
        hold(session, wanted)
        held |= wanted
        people = session.exec(select(Person).where(col(Person.id).in_(ids))
                              .execution_options(populate_existing=True)).all()


def _book(session: Session) -> dict[str, Any]:
    """This transaction's count of locks taken and whether it holds `INDEX` exclusively."""
    session.connection()  # begins the transaction if it has not begun
    root = session.get_transaction()
    book = session.info.get(BOOK)
    if not isinstance(book, dict) or book.get("transaction") is not root:
        book = session.info[BOOK] = {"transaction": root, "count": 0, "exclusive": False}
    return book
