"""DA children waiting for their data key. The key (`contacts.person-keys.v1`)
and the incident (`contacts.da-incident-reported.v1`) are on different
topics: contacts publishes the key first, but the consumer may read the
incident first. Then the child waits (`da_children_waiting`: the incident as
read, sealed fields and all), and the consumer goes on.

- `resume`: when the key comes (its route, in the same transaction) each
  waiting child of that person is opened and routed as if the incident had
  just been read (the report's day, deadline and trace are the incident's),
  so nothing is lost and nothing is told twice (the child's row and the
  notification's id are the same either way). A child erased meanwhile (a
  tombstone) is recorded erased, nobody told. A sealed value that does not
  open with the key is that child's record's fault, as on the direct path
  (`handlers.child_unreadable`): the incident is dead-lettered as it was
  read (re-encoded; once per record, counted), the child recorded unreadable
  and put on the MASH worklist (`unreadable`).
- `sweep`, on the timers' tick: the backstop. A child whose key is here
  is resumed (two workers committing the key and the incident at once see
  neither the other); a child waiting longer than `wait` goes on the MASH
  worklist once (`key_missing`: the MASH finds the child by id and phones
  the school; reason `no_key_yet`, or `key_unreadable` when a key record
  came that this service cannot unwrap), an item resolved by itself when a
  key that opens comes.
- `purge`, the retention purge's (`retention.py`, the da_incidents class):
  a child still waiting the class's period after its incident was read is
  deleted (on the worklist first, if the sweep had not put it there).

Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import delete, tuple_
from sqlmodel import Session, col, select

from frontdoor_contracts.contacts import DAIncidentReported
from frontdoor_contracts.errors import InvalidEvent, parse_event
from frontdoor_platform.routes import Incoming

from . import handlers
from .domain.outcome import Outcome
from .domain.schools import Resolution
from .handlers import Rules
from .incoming import open_child
from .models import DAChildRow, PersonKeyRow, WaitingChildRow, WorklistRow

BATCH = 500
KEY_MISSING, NO_KEY_YET, KEY_UNREADABLE = "key_missing", "no_key_yet", "key_unreadable"


def resume(session: Session, person_id: uuid.UUID, rules: Rules, now: datetime, outcome: Outcome, *,
           skip_locked: bool = False) -> int:
    """Route the person's waiting children if their key is here (or record them erased); how many."""
    held = rules.keys.held(session, person_id)
    if held is None:
        return 0
    rows = session.exec(select(WaitingChildRow).where(col(WaitingChildRow.person_id) == person_id)
                        .with_for_update(skip_locked=skip_locked)).all()
    for row in rows:
        _resume_one(session, row, held.key, rules, now, outcome)
    return len(rows)


def _resume_one(session: Session, row: WaitingChildRow, key: bytes | None, rules: Rules, now: datetime,
                outcome: Outcome) -> None:
    session.delete(row)
    if session.get(DAChildRow, (row.contact_id, row.child_id)) is not None:
        return  # routed already (the same incident read again meanwhile, its key here by then)
    if key is None:
        handlers.record_child(session, row.contact_id, row.child_id, Resolution.ERASED, now, outcome)
        return
    try:
        event = parse_event(row.incident.encode(), DAIncidentReported, lenient=True)
        [(index, child)] = [(i, c) for i, c in enumerate(event.data.children) if c.child_id == row.child_id]
        personal = open_child(key, event.data.contact_id, index, child)
    except InvalidEvent as broken:
        _unreadable(session, row, broken, now, outcome)
        return
    handlers.route_child(session, f"{event.source}\n{event.id}", event.data, child, personal, rules, now, outcome,
                         event.traceparent)
    if row.escalated_at is not None:  # the MASH was told the key was missing: it came
        item = session.get(WorklistRow, handlers.worklist_item_id(KEY_MISSING, contact_id=row.contact_id,
                                                                  child_id=row.child_id))
        if item is not None and item.resolved_at is None:
            item.resolved_at, item.resolved_by = now, "notifications:key_received"
            session.add(item)


def _unreadable(session: Session, row: WaitingChildRow, broken: InvalidEvent, now: datetime,
                outcome: Outcome) -> None:
    """The child's sealed fields do not open with its key: as on the direct path (`handlers.child_unreadable`),
    the incident as it was read to the dead-letter topic, the child recorded unreadable and on the worklist."""
    record = Incoming(row.topic, row.partition, row.record_offset, str(row.contact_id).encode(),
                      row.incident.encode())
    handlers.child_unreadable(session, record, broken, row.contact_id, row.child_id, now, outcome)


def sweep(session: Session, rules: Rules, now: datetime, wait: timedelta, outcome: Outcome) -> int:
    """The timers' backstop: resume the waiting children whose key is here (or who were erased); put those
    waiting longer than `wait` on the MASH worklist, once. How many rows it changed."""
    ready = session.exec(select(WaitingChildRow.person_id).join(
        PersonKeyRow, (col(PersonKeyRow.person_id) == col(WaitingChildRow.person_id))
        & col(PersonKeyRow.unreadable).is_(None)).distinct().limit(BATCH)).all()
    changed = sum(resume(session, person_id, rules, now, outcome, skip_locked=True) for person_id in ready)
    overdue: Sequence[WaitingChildRow] = session.exec(select(WaitingChildRow).where(
        col(WaitingChildRow.escalated_at).is_(None), col(WaitingChildRow.received_at) <= now - wait)
        .limit(BATCH).with_for_update(skip_locked=True)).all()
    for row in overdue:
        row.escalated_at = now
        session.add(row)
        escalate(session, row.contact_id, row.child_id, row.person_id, now)
        outcome.key_missing += 1
    return changed + len(overdue)


def escalate(session: Session, contact_id: uuid.UUID, child_id: uuid.UUID, person_id: uuid.UUID,
             now: datetime) -> None:
    """The child on the MASH worklist (`key_missing`, once): no key record came, or none this service can
    unwrap."""
    reason = NO_KEY_YET if session.get(PersonKeyRow, person_id) is None else KEY_UNREADABLE
    handlers.worklist(session, kind=KEY_MISSING, reason=reason, now=now, contact_id=contact_id, child_id=child_id)


def purge(session: Session, cutoff: datetime, limit: int, now: datetime) -> tuple[int, int]:
    """The retention purge (da_incidents class): at most `limit` children waiting since `cutoff` or before
    are deleted, each put on the MASH worklist first unless the sweep did (so a child whose key never came
    is never dropped unseen). How many were deleted, and how many of those were escalated here."""
    chosen = session.exec(select(WaitingChildRow.contact_id, WaitingChildRow.child_id, WaitingChildRow.person_id,
                                 WaitingChildRow.escalated_at)
                          .where(col(WaitingChildRow.received_at) <= cutoff).limit(limit)
                          .with_for_update(skip_locked=True)).all()
    escalated = 0
    for contact_id, child_id, person_id, escalated_at in chosen:
        if escalated_at is None:
            escalate(session, contact_id, child_id, person_id, now)
            escalated += 1
    if chosen:
        session.execute(delete(WaitingChildRow).where(tuple_(col(WaitingChildRow.contact_id),
                                                             col(WaitingChildRow.child_id))
                                                      .in_([(c, k) for c, k, _, _ in chosen])))
    return len(chosen), escalated
