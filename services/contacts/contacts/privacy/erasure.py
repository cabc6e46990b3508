"""What the contacts service holds about a privacy request's people, and the queries that erase or
correct it. The caller owns the transaction.

- **people index** (`people`): names, date of birth, NHS number, UPN, postcode, UPRN, the demographic key
  (a hash of name, date of birth and postcode). Erasing blanks them and marks the person erased; the id,
  kind, family, school and times stay.
- **case records**: the contacts that named them (the police reference is blanked), their links to those
  contacts (the relationship, free text, blanked), the decisions on those contacts (the rationale, free
  text, blanked), their referrals (ids and times) and any decision still waiting for one of those contacts
  (its stored event's rationale blanked). Ids, codes and times stay: the KPIs do not change.
- **outbox**: rows keyed by one of their ids, and rows whose payload carries their identifiers or their
  name with their date of birth (a dead letter keeps the bytes as received). Erasing deletes the published
  ones, every one carrying their details in clear, and their keys' rows; an unpublished row with ids only
  (or sealed fields) still goes to its topic.

On SQLite the erasure's transaction overwrites what it frees (`secure_delete`), so the erased bytes are
not left in the database file's free space."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.topics import CONTACTS_PERSON_KEYS
from frontdoor_platform.outbox_table import TOMBSTONE_HEADER
from frontdoor_platform.privacy import records_in

from .. import locks
from ..domain.people import PersonFacts, demographic_key
from ..models import ChildReferral, Contact, ContactPerson, MashDecision, OutboxEvent, PendingDecision, Person

PERSON_FIELDS = ("id", "kind", "given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode", "uprn",
                 "school_urn", "family_id", "created_at", "erased_at")
CORRECTABLE = ("given_name", "family_name", "date_of_birth", "nhs_number", "upn", "postcode")
SCAN_ROWS = 1000  # outbox rows read at a time when looking for a person's details in payloads


def secure_delete(session: Session) -> None:
    """SQLite: overwrite freed space in this connection from now on (PostgreSQL's dead rows go at VACUUM)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().exec_driver_sql("PRAGMA secure_delete = ON")


def people(session: Session, ids: Iterable[uuid.UUID], again: bool = False) -> Sequence[Person]:
    """The people (`again`: read from the database over what the session holds)."""
    wanted = list(ids)
    query = select(Person).where(col(Person.id).in_(wanted)).order_by(col(Person.created_at))
    return session.exec(query.execution_options(populate_existing=again)).all() if wanted else ()


def hold(session: Session, request: PrivacyRequested) -> None:
    """Lock what an erasure or a correction changes (`locks`): the contacts (a decision on one waits), and
    each person's keys and family (nobody matches them or moves them meanwhile), the people read again
    until the keys and families held are theirs."""
    if not locks.in_force(session):
        return
    locks.hold(session, [locks.contact(contact_id) for contact_id in request.contact_ids])
    held: set[str] = set()
    found = people(session, request.person_ids)
    while wanted := {name for p in found for name in (*locks.held_keys(p), locks.family(p))} - held:
        locks.hold(session, wanted)
        held |= wanted
        found = people(session, request.person_ids, again=True)


def case_records(session: Session, request: PrivacyRequested) -> list[dict[str, Any]]:
    """Every case record row about the people, tagged with its table."""
    persons, contacts = list(request.person_ids), list(request.contact_ids)
    found: list[dict[str, Any]] = []

    def add(table: str, rows: Sequence[Any], *names: str) -> None:
        found.extend({"table": table, **record} for record in records_in(rows, *names))

    add("contacts", session.exec(select(Contact).where(col(Contact.id).in_(contacts))).all(),
        "id", "referrer_source", "channel", "family_id", "concerns", "received_at", "recorded_at", "police_reference",
        "incident_at")
    add("contact_people", session.exec(select(ContactPerson).where(col(ContactPerson.person_id).in_(persons))).all(),
        "contact_id", "ref", "person_id", "role", "relationship", "da_present")
    add("decisions", session.exec(select(MashDecision).where(col(MashDecision.contact_id).in_(contacts))).all(),
        "contact_id", "decision", "level_of_need", "rationale", "decided_by", "decided_at", "referral", "re_referral")
    add("child_referrals", session.exec(select(ChildReferral).where(col(ChildReferral.child_id).in_(persons))).all(),
        "child_id", "contact_id", "decided_at", "re_referral")
    add("pending_decisions",
        session.exec(select(PendingDecision).where(col(PendingDecision.contact_id).in_(contacts))).all(),
        "event_id", "contact_id", "received_at")
    return found


def blank_people(session: Session, ids: Sequence[uuid.UUID], now: datetime) -> int:
    """The people's details blanked and the time noted; a person erased before is left as they are."""
    result = session.execute(update(Person).where(col(Person.id).in_(ids), col(Person.erased_at).is_(None)).values(
        given_name="", family_name="", date_of_birth=None, nhs_number=None, upn=None, postcode=None,
        demographic_key=None, uprn=None, erased_at=now).execution_options(synchronize_session="fetch"))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def blank_case_records(session: Session, request: PrivacyRequested) -> int:
    """The free text and references about the people in their case records; ids, codes and times stay."""
    persons, contacts = list(request.person_ids), list(request.contact_ids)
    changed = 0
    for statement in (
        update(Contact).where(col(Contact.id).in_(contacts), col(Contact.police_reference).is_not(None))
        .values(police_reference=None),
        update(ContactPerson).where(col(ContactPerson.person_id).in_(persons),
                                    col(ContactPerson.relationship).is_not(None)).values(relationship=None),
        update(MashDecision).where(col(MashDecision.contact_id).in_(contacts), col(MashDecision.rationale) != "")
        .values(rationale=""),
    ):
        changed += int(session.execute(statement.execution_options(synchronize_session="fetch")).rowcount or 0)  # type: ignore[attr-defined]
    for pending in session.exec(select(PendingDecision).where(col(PendingDecision.contact_id).in_(contacts))).all():
        stored = json.loads(pending.payload)
        if stored.get("data", {}).get("rationale"):
            stored["data"]["rationale"] = ""
            pending.payload = json.dumps(stored).encode()
            session.add(pending)
            changed += 1
    return changed


def rectify_people(session: Session, ids: Sequence[uuid.UUID], corrections: dict[str, Any]) -> int:
    """The people's details corrected (an identifier another person holds now is left as it was); the
    demographic key follows the corrected name, date of birth and postcode."""
    changed = 0
    for person in (p for p in people(session, ids) if p.erased_at is None):  # an erased person stays erased
        corrected = {name: corrections.get(name, getattr(person, name)) for name in CORRECTABLE}
        locks.hold(session, locks.person_keys(PersonFacts(**corrected)))  # the keys they will have
        for name, value in corrections.items():
            if name in ("nhs_number", "upn") and _held_by_another(session, name, value, person.id):
                continue
            setattr(person, name, value)
        person.demographic_key = demographic_key(PersonFacts(person.given_name, person.family_name,
                                                             person.date_of_birth, person.nhs_number, person.upn,
                                                             person.postcode))
        session.add(person)
        changed += 1
    return changed


def _held_by_another(session: Session, name: str, value: Any, person_id: uuid.UUID) -> bool:
    column = col(Person.nhs_number) if name == "nhs_number" else col(Person.upn)
    return session.exec(select(Person.id).where(column == value, col(Person.id) != person_id)).first() is not None


@dataclass(frozen=True)
class Markers:
    """What gives a person away in a payload: an identifier, or their name with their date of birth (each
    as written in UTF-8 and as JSON escapes it, lower case)."""

    alone: tuple[tuple[bytes, ...], ...]  # any variant of any one of these
    together: tuple[tuple[tuple[bytes, ...], ...], ...]  # every part (in any variant) of one of these

    @classmethod
    def of(cls, persons: Sequence[Person]) -> Markers:
        alone = [_variants(v) for p in persons for v in (p.nhs_number, p.upn) if v]
        together = [tuple(_variants(v) for v in (p.given_name, p.family_name, p.date_of_birth.isoformat()))
                    for p in persons if p.given_name and p.family_name and p.date_of_birth]
        return cls(tuple(alone), tuple(together))

    def found_in(self, payload: bytes) -> bool:
        text = payload.lower()
        if any(v in text for variants in self.alone for v in variants):
            return True
        return any(all(any(v in text for v in part) for part in parts) for parts in self.together)


def _variants(value: str) -> tuple[bytes, ...]:
    return tuple({value.lower().encode(), json.dumps(value.lower())[1:-1].encode()})


@dataclass(frozen=True)
class OutboxRow:
    id: int
    published: bool
    in_clear: bool  # carries the person's details in clear
    their_key: bool  # a row of one of their data keys (not a tombstone)


def _keys_of(request: PrivacyRequested) -> set[str]:
    ids = [*request.person_ids, *request.family_ids, *request.contact_ids]
    return {str(i) for i in ids} | {f"contact:{i}" for i in request.contact_ids}


def outbox_rows(session: Session, request: PrivacyRequested, markers: Markers) -> list[OutboxRow]:
    """Every outbox row about the people: keyed by one of their ids, or carrying their details in clear."""
    keys, people_keys = _keys_of(request), {str(i) for i in request.person_ids}
    found: list[OutboxRow] = []
    after = 0
    while True:
        query = (sa_select(col(OutboxEvent.id), col(OutboxEvent.topic), col(OutboxEvent.key),
                           col(OutboxEvent.payload), col(OutboxEvent.headers), col(OutboxEvent.published_at),
                           col(OutboxEvent.discarded_at))
                 .where(col(OutboxEvent.id) > after).order_by(col(OutboxEvent.id)).limit(SCAN_ROWS))
        rows = session.execute(query).all()
        for row_id, topic, key, payload, headers, published_at, discarded_at in rows:
            in_clear = markers.found_in(payload)
            if key not in keys and not in_clear:
                continue
            tombstone = any(name == TOMBSTONE_HEADER for name, _ in headers or ())
            their_key = topic == CONTACTS_PERSON_KEYS.name and key in people_keys and not tombstone
            found.append(OutboxRow(int(row_id), published_at is not None or discarded_at is not None, in_clear,
                                   their_key))
        if len(rows) < SCAN_ROWS:
            return found
        after = int(rows[-1][0])


def delete_outbox_rows(session: Session, rows: Sequence[OutboxRow]) -> int:
    """The published rows about them, every row carrying their details in clear, and their keys' rows."""
    ids = [row.id for row in rows if row.published or row.in_clear or row.their_key]
    for start in range(0, len(ids), SCAN_ROWS):
        session.execute(delete(OutboxEvent).where(col(OutboxEvent.id).in_(ids[start:start + SCAN_ROWS])))
    return len(ids)


def outbox_records(session: Session, rows: Sequence[OutboxRow]) -> list[dict[str, Any]]:
    """The rows as an export shows them: which event, where, when, and whether it carries the person's
    details in clear (a dead letter's bytes as received)."""
    clear = {row.id: row.in_clear for row in rows}
    ids = sorted(clear)
    found: list[dict[str, Any]] = []
    for start in range(0, len(ids), SCAN_ROWS):
        chunk = session.exec(select(OutboxEvent).where(col(OutboxEvent.id).in_(ids[start:start + SCAN_ROWS]))
                             .order_by(col(OutboxEvent.id))).all()
        for row in chunk:
            [record] = records_in([row], "event_id", "topic", "key", "created_at", "published_at")
            found.append({**record, "in_clear": clear[int(row.id or 0)]})
    return found
