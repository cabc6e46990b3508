"""Queries on the contacts service's tables. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from .models import (
    ChildReferral,
    Contact,
    ContactPerson,
    FamilyMerge,
    IdempotencyRecord,
    MashDecision,
    PendingDecision,
    Person,
)


def person_by_nhs(session: Session, nhs_number: str | None) -> Person | None:
    if not nhs_number:
        return None
    return session.exec(select(Person).where(Person.nhs_number == nhs_number)).first()


def person_by_upn(session: Session, upn: str | None) -> Person | None:
    if not upn:
        return None
    return session.exec(select(Person).where(Person.upn == upn)).first()


def people_by_demographics(session: Session, key: str | None, kind: str) -> Sequence[Person]:
    if key is None:
        return ()
    query = select(Person).where(Person.demographic_key == key, Person.kind == kind).order_by(col(Person.created_at))
    return session.exec(query).all()


def at_uprns(uprns: Iterable[str]) -> SelectOfScalar[Person]:
    """The people at these UPRNs, the longest known first."""
    return select(Person).where(col(Person.uprn).in_(list(uprns))).order_by(col(Person.created_at), col(Person.id))


def people_at_uprn(session: Session, uprn: str | None) -> Sequence[Person]:
    if not uprn:
        return ()
    return session.exec(at_uprns([uprn])).all()


def previous_referrals(session: Session, child_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, list[datetime]]:
    ids = list(child_ids)
    found: dict[uuid.UUID, list[datetime]] = defaultdict(list)
    if not ids:
        return found
    rows = session.exec(select(ChildReferral).where(col(ChildReferral.child_id).in_(ids))).all()
    for row in rows:
        found[row.child_id].append(row.decided_at)
    return found


def contact_children(session: Session, contact_id: uuid.UUID) -> Sequence[ContactPerson]:
    query = (
        select(ContactPerson)
        .where(ContactPerson.contact_id == contact_id, ContactPerson.role == "child")
        .order_by(col(ContactPerson.ref))
    )
    return session.exec(query).all()


def dates_of_birth(session: Session, person_ids: Sequence[uuid.UUID]) -> list[tuple[uuid.UUID, date | None]]:
    """Each person's date of birth (None when unknown or erased)."""
    if not person_ids:
        return []
    query = select(Person).where(col(Person.id).in_(list(person_ids)))
    return [(person.id, person.date_of_birth) for person in session.exec(query).all()]


def children_of(session: Session, contact_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """The children the contacts name (their people's ids)."""
    ids = list(contact_ids)
    if not ids:
        return set()
    query = select(ContactPerson.person_id).where(col(ContactPerson.contact_id).in_(ids),
                                                  ContactPerson.role == "child")
    return set(session.exec(query).all())


def contact_people(session: Session, contact_id: uuid.UUID) -> Sequence[tuple[ContactPerson, Person]]:
    query = (
        select(ContactPerson, Person)
        .join(Person, col(Person.id) == col(ContactPerson.person_id))
        .where(ContactPerson.contact_id == contact_id)
        .order_by(col(ContactPerson.role), col(ContactPerson.ref))
    )
    return [(link, person) for link, person in session.exec(query).all()]


def contacts_for_child(session: Session, child_id: uuid.UUID) -> Sequence[tuple[Contact, MashDecision | None]]:
    query = (
        select(Contact, MashDecision)
        .join(ContactPerson, col(ContactPerson.contact_id) == col(Contact.id))
        .outerjoin(MashDecision, col(MashDecision.contact_id) == col(Contact.id))
        .where(ContactPerson.person_id == child_id, ContactPerson.role == "child")
        .order_by(col(Contact.received_at))
    )
    return [(contact, decision) for contact, decision in session.exec(query).all()]


def idempotency_record(session: Session, client_id: uuid.UUID, key: str) -> IdempotencyRecord | None:
    query = select(IdempotencyRecord).where(IdempotencyRecord.client_id == client_id, IdempotencyRecord.key == key)
    return session.exec(query).first()


def pending_decisions(session: Session, contact_id: uuid.UUID) -> Sequence[PendingDecision]:
    query = select(PendingDecision).where(PendingDecision.contact_id == contact_id).order_by(
        col(PendingDecision.received_at)
    )
    return session.exec(query).all()


def merge_families(session: Session, family_id: uuid.UUID, merged: Sequence[uuid.UUID], contact_id: uuid.UUID,
                   now: datetime) -> None:
    """Everyone and every contact of the `merged` families now belongs to `family_id`; each merge is noted
    (`family_merges`: the merged ids live on in other services)."""
    ids = list(merged)
    session.execute(update(Person).where(col(Person.family_id).in_(ids)).values(family_id=family_id))
    session.execute(update(Contact).where(col(Contact.family_id).in_(ids)).values(family_id=family_id))
    for merged_id in ids:
        session.merge(FamilyMerge(merged_family_id=merged_id, family_id=family_id, contact_id=contact_id,
                                  merged_at=now))


def families_with_merged(session: Session, family_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """`family_ids` and every family merged into them, however many merges ago."""
    found = list(dict.fromkeys(family_ids))
    frontier = set(found)
    while frontier:
        query = select(FamilyMerge.merged_family_id).where(col(FamilyMerge.family_id).in_(frontier))
        frontier = {merged for merged in session.exec(query).all() if merged not in found}
        found += sorted(frontier)
    return found


def later_referrals(session: Session, child_ids: Iterable[uuid.UUID], after: datetime) -> Sequence[ChildReferral]:
    """The children's referrals decided after `after` (the window is the caller's rule)."""
    ids = list(child_ids)
    if not ids:
        return ()
    query = select(ChildReferral).where(col(ChildReferral.child_id).in_(ids), col(ChildReferral.decided_at) > after)
    return session.exec(query.order_by(col(ChildReferral.decided_at))).all()


def mark_re_referral(session: Session, contact_id: uuid.UUID) -> None:
    session.execute(update(MashDecision).where(col(MashDecision.contact_id) == contact_id).values(re_referral=True))
