"""The contacts service's answer to a privacy request (the kit's `PrivacyHooks`; the kit's `Responder`
decides what an erasure may touch, adds the read log and seals the export): what it holds per retention
class, and how it erases or corrects it (`erasure`).

Classes: `people_index` (the people as the index holds them), `case_records` (contacts, links, decisions,
referrals and waiting decisions about them), `person_keys` (whether a key exists: never the key),
`partner_records` (which partner deliveries matched them: ids), `audit` (changes made through the API to
the contacts that named them: ids) and `outbox` (rows about them).

An erasure runs in the order that keeps it whole: the outbox first (its rows are found by the people's
details, still on the index), then the case records and the people index, then the keys (each deleted,
and a tombstone for it put in the outbox, after the rows about them were deleted)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.retention import AUDIT, CASE_RECORDS, OUTBOX, PARTNER_RECORDS, PEOPLE_INDEX, PERSON_KEYS
from frontdoor_platform.privacy import Holding, records_in

from .. import person_keys
from ..models import AuditEntry, PartnerRecordApplied
from . import erasure
from .requests import Corrections


class ContactsPrivacy:
    """`PrivacyHooks` for the contacts service."""

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding:
        """What is held about them, once nothing about them can change until this transaction ends
        (`erasure.hold`: what the answer counts is what an erasure or a correction then finds)."""
        erasure.hold(session, request)
        people = erasure.people(session, request.person_ids)
        rows = erasure.outbox_rows(session, request, erasure.Markers.of(people))
        keys = person_keys.held(session, request.person_ids)
        return Holding(classes={
            PEOPLE_INDEX: records_in(people, *erasure.PERSON_FIELDS),
            CASE_RECORDS: erasure.case_records(session, request),
            PERSON_KEYS: [{"person_id": str(key.person_id), "created_at": key.created_at.isoformat(), "key": "held"}
                          for key in keys],
            PARTNER_RECORDS: _partner_records(session, request),
            AUDIT: _audit(session, request),
            OUTBOX: erasure.outbox_records(session, rows),
        })

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]:
        erasure.secure_delete(session)
        people = erasure.people(session, request.person_ids)
        changed: dict[str, int] = {}
        if OUTBOX in classes:
            rows = erasure.outbox_rows(session, request, erasure.Markers.of(people))
            changed[OUTBOX] = erasure.delete_outbox_rows(session, rows)
        if CASE_RECORDS in classes:
            changed[CASE_RECORDS] = erasure.blank_case_records(session, request)
        if PEOPLE_INDEX in classes:
            changed[PEOPLE_INDEX] = erasure.blank_people(session, list(request.person_ids), now)
        if PERSON_KEYS in classes:
            changed[PERSON_KEYS] = person_keys.destroy(session, request.person_ids, now)
        return changed

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]:
        if PEOPLE_INDEX not in classes:
            return {}
        corrections = _corrections(shared)
        if not corrections:
            return {}
        return {PEOPLE_INDEX: erasure.rectify_people(session, list(request.person_ids), corrections)}


def _corrections(shared: Mapping[str, Any] | None) -> dict[str, Any]:
    """The request's corrections (contacts' sealed share), as the people index stores them."""
    try:
        given = Corrections.model_validate((shared or {}).get("corrections") or {})
    except ValueError:
        raise InvalidEvent("invalid_corrections", [FieldError("sealed_for.contacts", "invalid",
                                                              "the corrections are not valid")]) from None
    return given.model_dump(exclude_none=True)


def _partner_records(session: Session, request: PrivacyRequested) -> list[dict[str, Any]]:
    rows = session.exec(select(PartnerRecordApplied)
                        .where(col(PartnerRecordApplied.person_id).in_(list(request.person_ids)))
                        .order_by(col(PartnerRecordApplied.recorded_at))).all()
    return records_in(rows, "dataset", "fact_id", "person_id", "family_id", "recorded_at")


def _audit(session: Session, request: PrivacyRequested) -> list[dict[str, Any]]:
    """Changes made through the API to their contacts (ids and categories only, never their details)."""
    targets = [f"contact:{i}" for i in request.contact_ids]
    if not targets:
        return []
    rows = session.exec(select(AuditEntry).where(col(AuditEntry.target).in_(targets))
                        .order_by(col(AuditEntry.id))).all()
    return records_in(rows, "at", "actor", "action", "target")
