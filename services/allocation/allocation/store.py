"""Queries on the allocation service's tables. Callers own the transaction."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlmodel import Session, col, select

from frontdoor_contracts.envelope import CloudEvent

from .codec import dump_case, load_case
from .domain.cases import Case
from .models import CaseRow, OutboxEvent, TimelineEntry


def get_case(session: Session, case_id: uuid.UUID) -> Case | None:
    row = session.get(CaseRow, case_id)
    return None if row is None else load_case(row.document)


def family_cases(session: Session, family_id: uuid.UUID) -> list[Case]:
    rows = session.exec(select(CaseRow).where(CaseRow.family_id == family_id)).all()
    return [load_case(row.document) for row in rows]


def open_cases(session: Session) -> list[Case]:
    rows = session.exec(select(CaseRow).where(col(CaseRow.is_open).is_(True)).order_by(col(CaseRow.due_at))).all()
    return [load_case(row.document) for row in rows]


def cases_awaiting_offer_due_by(session: Session, moment: datetime) -> list[Case]:
    """Open cases without an offer whose due time is at or before `moment`."""
    query = select(CaseRow).where(
        col(CaseRow.status).in_(("open", "allocated")), col(CaseRow.due_at) <= moment
    )
    return [load_case(row.document) for row in session.exec(query).all()]


def save_case(session: Session, case: Case) -> None:
    row = session.get(CaseRow, case.case_id)
    if row is None:
        row = CaseRow(case_id=case.case_id, family_id=case.family_id, status=case.status.value, is_open=case.is_open,
                      source=case.source.value, started_at=case.started_at, due_at=case.due_at,
                      document=dump_case(case))
    else:
        row.status, row.is_open, row.document = case.status.value, case.is_open, dump_case(case)
    session.add(row)


def add_timeline(session: Session, case_id: uuid.UUID, at: datetime, kind: str, **detail: Any) -> None:
    session.add(TimelineEntry(case_id=case_id, at=at, kind=kind, detail=detail))


def timeline(session: Session, case_id: uuid.UUID) -> Sequence[TimelineEntry]:
    query = select(TimelineEntry).where(TimelineEntry.case_id == case_id).order_by(col(TimelineEntry.id))
    return session.exec(query).all()


def add_outbox(session: Session, topic: str, key: str, event: CloudEvent, now: datetime) -> None:  # type: ignore[type-arg]
    session.add(OutboxEvent(event_id=event.id, topic=topic, key=key, payload=event.model_dump_json().encode(),
                            created_at=now))


def pending_outbox(session: Session, limit: int) -> Sequence[OutboxEvent]:
    query = select(OutboxEvent).where(col(OutboxEvent.published_at).is_(None)).order_by(col(OutboxEvent.id))
    return session.exec(query.limit(limit)).all()


def mark_published(session: Session, ids: Sequence[int], now: datetime) -> None:
    session.execute(update(OutboxEvent).where(col(OutboxEvent.id).in_(ids)).values(published_at=now))


def lead_organisations_by_kind(session: Session) -> dict[str, int]:
    """Distinct lead agencies per kind, over every case ever allocated."""
    seen: dict[str, set[str]] = {}
    for row in session.exec(select(CaseRow).where(col(CaseRow.status) != "open")).all():
        allocation = load_case(row.document).allocation
        if allocation is not None:
            seen.setdefault(allocation.agency_kind.value, set()).add(allocation.lead_agency_id)
    return {kind: len(ids) for kind, ids in sorted(seen.items())}
