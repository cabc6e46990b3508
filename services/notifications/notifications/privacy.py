"""This service's part of a privacy request (`frontdoor_platform.privacy`:
the kit's Responder answers once, in the consumer's transaction, and decides
what the schedule lets an erasure touch). What it holds about the request's
people, per class:

- `notifications`: the DA notifications about them (a child's, by id), with
  the personal fields as held (erased ones show none);
- `enrolments`: the school roll's rows for the UPNs in the service's sealed
  share (`shared["upns"]`: enrolments are keyed by UPN alone);
- `person_keys`: their data keys held here (wrapped; the export shows only
  that one is held and since when, never the key), or recorded unreadable
  (and why);
- `da_incidents`: their DA incidents waiting here for a key (sealed);
- `case_records`: who was told what, when (ids, codes and times): the
  children's rows, their notifications' deliveries and attempts, their
  worklist items, and the allocation messages about their families.

Erase: the personal columns of their notifications (the retention purge's
erasure), the enrolments of those UPNs, their keys (dropped: nothing sealed
about them opens here again), the incidents waiting for them (recorded
erased). Rectify: names, date of birth and UPN in their notifications, from
`shared["corrections"]` (one set of fields for every person named, or one
per person id); a correction that is not valid dead-letters the request,
naming the field, never the value."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import delete, or_
from sqlmodel import Session, col, select

from frontdoor_contracts.errors import FieldError, InvalidEvent, field_errors
from frontdoor_contracts.identifiers import Upn
from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.retention import CASE_RECORDS, DA_INCIDENTS, ENROLMENTS, NOTIFICATIONS, PERSON_KEYS
from frontdoor_platform.privacy import Holding, records_in
from frontdoor_platform.reads import record_of

from . import store
from .domain.schools import Resolution
from .keys import PersonKeys
from .models import (
    DAChildRow,
    DeliveryAttemptRow,
    DeliveryRow,
    EnrolmentRow,
    NotificationRow,
    PersonKeyRow,
    WaitingChildRow,
    WorklistRow,
)

SHARE = "sealed_for.notifications"
NOTICE_FIELDS = ("notification_id", "recipient_id", "subject_id", "child_id", "reported_at", "deadline", "created_at",
                 "delivered_at", "acknowledged_at", "acknowledged_by", "erased_at", "given_name", "family_name",
                 "date_of_birth", "upn", "police_reference", "incident_at", "child_present")
MESSAGE_KINDS = (NotificationKind.CASE_ALLOCATED, NotificationKind.OFFER_OVERDUE)


class Corrections(BaseModel):
    """What a rectify may correct in a notification (any of them)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    given_name: str | None = Field(default=None, min_length=1, max_length=100)
    family_name: str | None = Field(default=None, min_length=1, max_length=100)
    date_of_birth: date | None = None
    upn: Upn | None = None


def upns_in(shared: Mapping[str, Any] | None) -> list[str]:
    found = (shared or {}).get("upns") or []
    return sorted({u for u in found if isinstance(u, str) and 0 < len(u) <= 13}) if isinstance(found, list) else []


def corrections_in(request: PrivacyRequested, shared: Mapping[str, Any] | None) -> dict[uuid.UUID, Corrections]:
    """Per person, the corrections (one set for every person named, or one per person id)."""
    given = (shared or {}).get("corrections") or {}
    if not isinstance(given, dict):
        raise InvalidEvent("invalid_corrections", [FieldError(f"{SHARE}.corrections", "dict_type",
                                                              "must be an object")])
    people = {str(person): person for person in request.person_ids}
    per_person = bool(given) and all(key in people for key in given)
    wanted = {people[key]: (value, f"corrections.{key}") for key, value in given.items()} if per_person else {
        person: (given, "corrections") for person in request.person_ids}
    corrections = {}
    for person, (fields, where) in wanted.items():
        try:
            corrections[person] = Corrections.model_validate(fields)
        except ValidationError as exc:
            raise InvalidEvent("invalid_corrections", field_errors(exc, (SHARE, where))) from None
    return corrections


@dataclass(frozen=True)
class Found:
    """The request's people's rows in this service's tables."""

    notices: Sequence[NotificationRow]
    enrolments: Sequence[EnrolmentRow]
    keys: Sequence[PersonKeyRow]
    waiting: Sequence[WaitingChildRow]


def _find(session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Found:
    people, upns = list(request.person_ids), upns_in(shared)
    return Found(
        notices=store.notifications_of(session, people),
        enrolments=session.exec(select(EnrolmentRow).where(col(EnrolmentRow.upn).in_(upns))).all() if upns else [],
        keys=session.exec(select(PersonKeyRow).where(col(PersonKeyRow.person_id).in_(people),
                                                     col(PersonKeyRow.erased_at).is_(None))).all()
        if people else [],
        waiting=session.exec(select(WaitingChildRow).where(col(WaitingChildRow.child_id).in_(people))).all()
        if people else [])


def _case_records(session: Session, request: PrivacyRequested, notices: Sequence[NotificationRow]
                  ) -> list[dict[str, Any]]:
    people, ids = list(request.person_ids), [n.notification_id for n in notices]

    def rows(table: Any, *where: Any) -> Sequence[Any]:
        return session.exec(select(table).where(*where)).all()

    def tagged(name: str, found: Sequence[Any], *fields: str) -> list[dict[str, Any]]:
        return [{"table": name, **record} for record in records_in(found, *fields)]

    children = rows(DAChildRow, col(DAChildRow.child_id).in_(people)) if people else []
    items = rows(WorklistRow, or_(col(WorklistRow.child_id).in_(people), col(WorklistRow.notification_id).in_(ids)))
    return [*tagged("da_children", children, "contact_id", "child_id", "resolution", "school_urn", "notification_id",
                    "recorded_at"),
            *tagged("deliveries", rows(DeliveryRow, col(DeliveryRow.notification_id).in_(ids)) if ids else [],
                    "notification_id", "channel", "state", "attempts", "updated_at", "retried_at", "retried_by"),
            *tagged("delivery_attempts",
                    rows(DeliveryAttemptRow, col(DeliveryAttemptRow.notification_id).in_(ids)) if ids else [],
                    "notification_id", "number", "at", "outcome", "status"),
            *tagged("worklist", items, "item_id", "kind", "reason", "contact_id", "child_id", "notification_id",
                    "recipient_id", "created_at", "resolved_at", "resolved_by"),
            *tagged("notifications", _family_messages(session, request.family_ids), "notification_id", "kind",
                    "recipient_id", "subject_id", "reported_at", "created_at", "delivered_at", "details")]


def _family_messages(session: Session, families: Sequence[uuid.UUID]) -> list[NotificationRow]:
    """Allocation messages about the families (ids and categories only, in `details`)."""
    found: list[NotificationRow] = []
    for family in families:
        query = select(NotificationRow).where(col(NotificationRow.kind).in_(MESSAGE_KINDS),
                                              col(NotificationRow.details).contains(str(family)))
        found += [row for row in session.exec(query).all() if _family_of(row) == str(family)]
    return found


def _family_of(row: NotificationRow) -> str | None:
    try:
        details = json.loads(row.details or "{}")
    except ValueError:
        return None
    return str(details.get("family_id")) if isinstance(details, dict) else None


@dataclass(frozen=True)
class NotificationsPrivacy:
    """The notifications service's PrivacyHooks."""

    keys: PersonKeys

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding:
        found = _find(session, request, shared)
        items = [row.item_id for row in session.exec(select(WorklistRow).where(
            col(WorklistRow.child_id).in_(list(request.person_ids)))).all()] if request.person_ids else []
        return Holding(
            classes={
                NOTIFICATIONS: records_in(found.notices, *NOTICE_FIELDS),
                ENROLMENTS: records_in(found.enrolments, "upn", "school_urn", "starts_on", "ends_on", "recorded_at"),
                PERSON_KEYS: records_in(found.keys, "person_id", "issued_at", "recorded_at", "unreadable"),
                DA_INCIDENTS: [{**r, "personal_fields": "sealed"} for r in records_in(
                    found.waiting, "contact_id", "child_id", "received_at", "escalated_at")],
                CASE_RECORDS: _case_records(session, request, found.notices)},
            read_records=[*(record_of("notification", n.notification_id) for n in found.notices),
                          *(record_of("worklist", item) for item in items)])

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]:
        found = _find(session, request, shared)
        done: dict[str, int] = {}
        if NOTIFICATIONS in classes:
            for notice in found.notices:
                store.erase_personal(notice, now)
                session.add(notice)
            done[NOTIFICATIONS] = len(found.notices)
        if ENROLMENTS in classes and found.enrolments:
            session.execute(delete(EnrolmentRow).where(col(EnrolmentRow.upn).in_(upns_in(shared))))
            done[ENROLMENTS] = len(found.enrolments)
        if PERSON_KEYS in classes:
            done[PERSON_KEYS] = sum(self.keys.erased(session, row.person_id, now) for row in found.keys)
        if DA_INCIDENTS in classes:
            for row in found.waiting:
                session.delete(row)
                store.child_recorded(session, row.contact_id, row.child_id, Resolution.ERASED, now)
            done[DA_INCIDENTS] = len(found.waiting)
        return done

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]:
        if NOTIFICATIONS not in classes:
            return {}
        corrections = corrections_in(request, shared)
        changed = 0
        for row in _find(session, request, shared).notices:
            fix = corrections.get(row.child_id) if row.child_id else None
            if fix is None or row.erased_at is not None:
                continue
            for name, value in fix.model_dump(exclude_none=True).items():
                setattr(row, name, value)
            session.add(row)
            changed += bool(fix.model_dump(exclude_none=True))
        return {NOTIFICATIONS: changed}
