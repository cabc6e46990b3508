"""Events in, notifications out: each child of a DA incident gets one
notification for its school (or a MASH worklist item when the school is not
known, or a record that no school is involved), once its sealed fields are
opened with its key (until the key comes it waits: `waiting.py`; a child
whose sealed fields do not open is recorded unreadable and put on the MASH
worklist, each child on its own, its incident dead-lettered once), and
allocation events become messages for the lead agency's contact and the
Early Help manager. A person's key is kept when it comes; a tombstone drops
it and erases the personal data of the notifications about them. Each runs
in the consumer's batch transaction; the delivery queue takes it from
there. Several workers may meet on one record (a partition moved mid-batch)
or one child (its key and its incident read on two partitions at once): a
notification, its delivery and a worklist item are inserted once
(`ON CONFLICT DO NOTHING` on their derived ids), so the one that comes
second does nothing; a child's row that two insert at once fails one batch
on its key, and the kit's consumer runs that record again, seeing the
other's row."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.allocation import CaseAllocated, OfferOverdue
from frontdoor_contracts.contacts import DAChildPersonal, DAChildReported, DAIncidentReported, today_in_england
from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_contracts.errors import InvalidEvent
from frontdoor_contracts.notifications import NotificationKind, SchoolUnknown, UnknownReason
from frontdoor_contracts.personal import PersonKeyIssued
from frontdoor_contracts.topics import NOTIFICATIONS_SCHOOL_UNKNOWN
from frontdoor_platform.database import insert_once
from frontdoor_platform.routes import Consumed, Incoming, add_dead_letter
from frontdoor_platform.tracing import traceparent_now

from . import directory, store
from .delivery.queue import enqueue
from .domain.outcome import UNREADABLE_KEY, Outcome
from .domain.school_days import SchoolCalendar, notify_by
from .domain.schools import Resolution, find_school
from .incoming import check_child, open_child
from .keys import PersonKeys
from .models import DAChildRow, NotificationRow, OutboxEvent, RecipientRow, WorklistRow
from .outgoing import emit

NOTIFICATION_NAMESPACE = uuid.UUID("9e3f1b7a-2c5d-4e8f-a6b1-0d2c3e4f5a6b")
WORKLIST_NAMESPACE = uuid.UUID("1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b")
UNREADABLE = "unreadable"  # the worklist's kind for a child whose sealed fields do not open


@dataclass(frozen=True)
class Rules:
    """What the handlers go by: the service's source, the authority's calendar, who is told of overdue
    offers, and the people's keys (this service's wrapping key)."""

    source_uri: str
    calendar: SchoolCalendar
    early_help_manager: str
    keys: PersonKeys


def notification_id(kind: NotificationKind, subject: uuid.UUID, recipient_id: str,
                    child: uuid.UUID | None) -> uuid.UUID:
    return uuid.uuid5(NOTIFICATION_NAMESPACE, f"{kind}\n{subject}\n{child or ''}\n{recipient_id}")


def worklist_item_id(kind: str, **ids: Any) -> uuid.UUID:
    return uuid.uuid5(WORKLIST_NAMESPACE, f"{kind}\n" + "\n".join(f"{k}={v}" for k, v in sorted(ids.items())))


def worklist(session: Session, *, kind: str, reason: str, now: datetime, **ids: Any) -> None:
    """A MASH worklist item, once (its id is derived from its kind and ids; two workers adding it at once
    make one)."""
    item_id = worklist_item_id(kind, **ids)
    if session.get(WorklistRow, item_id) is None:
        insert_once(session, WorklistRow(item_id=item_id, kind=kind, reason=reason, created_at=now, **ids))


def on_da_incident(session: Session, event: CloudEvent[DAIncidentReported], where: Consumed, rules: Rules,
                   outcome: Outcome) -> None:
    """Each child not seen before, on its own: opened with its key and routed to its school now; erased (its
    key gone: nobody is told); or, its key not come yet (another topic), waiting for it with the incident as
    read (`waiting.py` routes it when the key comes). A child whose sealed fields are not its own or do not
    open with its key is unreadable (`child_unreadable`); its siblings are told all the same."""
    incident, now = event.data, where.now
    for index, child in enumerate(incident.children):
        if session.get(DAChildRow, (incident.contact_id, child.child_id)) is not None \
                or store.is_waiting(session, incident.contact_id, child.child_id):
            continue
        try:
            check_child(index, child)
            held = rules.keys.held(session, child.child_id)
            personal = open_child(held.key, incident.contact_id, index, child) if held and held.key else None
        except InvalidEvent as broken:
            as_read = Incoming(where.topic, where.partition, where.offset, str(incident.contact_id).encode(),
                               encode_event(event))
            child_unreadable(session, as_read, broken, incident.contact_id, child.child_id, now, outcome)
            continue
        if held is None:
            store.park_child(session, contact_id=incident.contact_id, child_id=child.child_id,
                             incident=encode_event(event).decode(), topic=where.topic, partition=where.partition,
                             offset=where.offset, now=now)
            outcome.waiting += 1
        elif personal is None:
            record_child(session, incident.contact_id, child.child_id, Resolution.ERASED, now, outcome)
        else:
            route_child(session, f"{event.source}\n{event.id}", incident, child, personal, rules, now, outcome,
                        traceparent_now())


def child_unreadable(session: Session, record: Incoming, broken: InvalidEvent, contact_id: uuid.UUID,
                     child_id: uuid.UUID, now: datetime, outcome: Outcome) -> None:
    """A child's sealed fields are not its own or do not open with its key: the record's fault, but only
    this child's. The incident goes to the dead-letter topic as evidence (as it was read, re-encoded: its
    sealed values still sealed; once per record, however many of its children are broken, counted once);
    the child is recorded unreadable (counted) and put on the MASH worklist (`unreadable`, with the rule
    broken), so a person finds the child by id and phones the school."""
    if add_dead_letter(session, OutboxEvent, record, broken, now):
        outcome.dead_lettered.append((record.topic, broken.reason))
    record_child(session, contact_id, child_id, Resolution.UNREADABLE, now, outcome)
    worklist(session, kind=UNREADABLE, reason=broken.reason[:30], now=now, contact_id=contact_id, child_id=child_id)


def record_child(session: Session, contact_id: uuid.UUID, child_id: uuid.UUID, resolution: Resolution,
                 now: datetime, outcome: Outcome) -> None:
    """A child nobody is told about (erased, or unreadable), recorded once."""
    store.child_recorded(session, contact_id, child_id, resolution, now)
    outcome.resolutions[resolution] += 1


def route_child(session: Session, event_id: str, incident: DAIncidentReported, child: DAChildReported,
                personal: DAChildPersonal, rules: Rules, now: datetime, outcome: Outcome,
                traceparent: str | None) -> None:
    """The child's school (on the event, else by its UPN's enrolment on the report's day), and its
    notification queued; or the MASH worklist; or not of school age."""
    on = today_in_england(incident.reported_at)  # the day in England, not in UTC (23:30 UTC in summer is tomorrow)
    upn = personal.upn
    found = find_school(urn=child.school_urn, upn=upn, born=personal.date_of_birth, on=on,
                        enrolments=store.enrolments_of(session, upn) if upn and not child.school_urn else ())
    row = DAChildRow(contact_id=incident.contact_id, child_id=child.child_id, resolution=found.resolution,
                     school_urn=found.school_urn, recorded_at=now)
    outcome.resolutions[found.resolution] += 1
    school = directory.school(session, found.school_urn) if found.school_urn else None
    if found.resolution is Resolution.NOT_OF_SCHOOL_AGE:
        session.add(row)
        return
    if school is None:
        reason = (UnknownReason.NO_SCHOOL_ON_RECORD if found.school_urn is None
                  else UnknownReason.SCHOOL_NOT_IN_DIRECTORY)
        row.resolution = Resolution.UNKNOWN
        session.add(row)
        _school_unknown(session, incident, child, found.school_urn, reason, rules, now, outcome)
        return
    deadline = notify_by(incident.reported_at, directory.calendar_of(school, rules.calendar))
    notice = NotificationRow(
        notification_id=notification_id(NotificationKind.DA_INCIDENT, incident.contact_id, school.recipient_id,
                                        child.child_id),
        kind=NotificationKind.DA_INCIDENT, recipient_id=school.recipient_id, phase=school.phase,
        subject_id=incident.contact_id, child_id=child.child_id, source_event_id=event_id[:200],
        reported_at=incident.reported_at, deadline=deadline, created_at=now,
        given_name=personal.given_name, family_name=personal.family_name, date_of_birth=personal.date_of_birth,
        upn=upn, police_reference=personal.police_reference, incident_at=incident.occurred_at,
        child_present=child.present, traceparent=traceparent)
    row.notification_id = notice.notification_id
    session.add(row)
    _create(session, notice, school, now, outcome)
    if deadline is None:  # term dates not configured that far: a person makes sure the school knows
        worklist(session, kind="no_deadline", reason=UnknownReason.NO_SCHOOL_DAY_KNOWN, now=now,
                 notification_id=notice.notification_id, recipient_id=school.recipient_id)


def _school_unknown(session: Session, incident: DAIncidentReported, child: DAChildReported, urn: str | None,
                    reason: UnknownReason, rules: Rules, now: datetime, outcome: Outcome) -> None:
    outcome.unknown[reason] += 1
    worklist(session, kind="school_unknown", reason=reason, now=now, contact_id=incident.contact_id,
              child_id=child.child_id)
    data = SchoolUnknown(contact_id=incident.contact_id, child_id=child.child_id, school_urn=urn, reason=reason,
                         reported_at=incident.reported_at)
    emit(session, source_uri=rules.source_uri, topic=NOTIFICATIONS_SCHOOL_UNKNOWN,
         key=uuid.uuid5(incident.contact_id, str(child.child_id)), data=data, time=now, now=now)


def _create(session: Session, notice: NotificationRow, recipient: RecipientRow, now: datetime,
            outcome: Outcome) -> None:
    if session.get(NotificationRow, notice.notification_id) is not None or not insert_once(session, notice):
        return  # made already: by this record read before, or by another worker at the same moment
    enqueue(session, notice.notification_id, recipient.channel, now)
    outcome.created[(notice.kind, recipient.phase or recipient.kind)] += 1


def _message(session: Session, kind: NotificationKind, recipient_id: str, case_id: uuid.UUID, event_id: str,
             reported_at: datetime, details: dict[str, Any], now: datetime, outcome: Outcome) -> None:
    recipient = directory.recipient(session, recipient_id)
    if recipient is None:  # nobody to tell: the MASH sees it, nothing is dropped
        outcome.no_recipient[kind] += 1
        worklist(session, kind="recipient_unknown", reason=kind, now=now, recipient_id=recipient_id,
                  notification_id=notification_id(kind, case_id, recipient_id, None))
        return
    notice = NotificationRow(
        notification_id=notification_id(kind, case_id, recipient_id, None), kind=kind, recipient_id=recipient_id,
        subject_id=case_id, source_event_id=event_id[:200], reported_at=reported_at, created_at=now,
        details=json.dumps(details, sort_keys=True, default=str), traceparent=traceparent_now())
    _create(session, notice, recipient, now, outcome)


def on_case_allocated(session: Session, event_id: str, data: CaseAllocated, now: datetime, outcome: Outcome) -> None:
    details = {"case_id": data.case_id, "family_id": data.family_id, "lead_agency_id": data.lead_agency_id,
               "agency_kind": data.agency_kind, "lead_professional_ref": data.lead_professional_ref,
               "allocated_at": data.allocated_at, "due_at": data.due_at}
    _message(session, NotificationKind.CASE_ALLOCATED, directory.agency_recipient(data.lead_agency_id), data.case_id,
             event_id, data.allocated_at, details, now, outcome)


def on_offer_overdue(session: Session, event_id: str, data: OfferOverdue, rules: Rules, now: datetime,
                     outcome: Outcome) -> None:
    details = {"case_id": data.case_id, "family_id": data.family_id, "status": data.status,
               "lead_agency_id": data.lead_agency_id, "started_at": data.started_at, "due_at": data.due_at}
    _message(session, NotificationKind.OFFER_OVERDUE, directory.agency_recipient(rules.early_help_manager),
             data.case_id, event_id, data.due_at, details, now, outcome)


def on_person_key(session: Session, issued: PersonKeyIssued, rules: Rules, now: datetime, outcome: Outcome) -> None:
    """Keep a person's key; one this service cannot unwrap is recorded unreadable (keys.py: no key material
    kept, nothing dead-lettered) and counted by reason; one of a person erased here is not kept."""
    change = rules.keys.issued(session, issued, now)
    if change in UNREADABLE_KEY:
        outcome.unreadable_keys[change] += 1
    else:
        outcome.keys[change] += 1


def on_person_erased(session: Session, person_id: uuid.UUID, rules: Rules, now: datetime, outcome: Outcome) -> None:
    """A tombstone: drop the person's key and erase their notifications' personal data (once)."""
    if rules.keys.erased(session, person_id, now):
        outcome.keys["erased"] += 1
    outcome.erased_for_person += store.erase_children(session, [person_id], now)
