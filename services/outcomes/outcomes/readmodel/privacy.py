"""What the outcomes service holds about a privacy request's people
(`frontdoor_platform.privacy.PrivacyHooks`), answered by the kit's
`Responder` from the stream's transaction (stream/ledger.py).

Everything here is the retention schedule's `kpi_read_model` class: the
request's families, followed through both alias tables both ways (the
families merged into them and those they were merged into); each family's
picture as the stream last left it (`family_views`: problems, plans,
progress, events by id and category) and its merges; the KPI facts about
those families, their contacts (and the request's), their cases and the
request's people as children (ids, codes, counts and times); the families'
chronologies (`chronology`: each event's ids, categories and times) and
their contacts' re-referral corrections. A delivered
notification's fact names no family or person (`kpi_deliveries`): it is
not found here. An access export also carries the read log's reads of the
families (`family:<id>`, as `GET /v1/families/{id}` logs them).

Erasure and rectification change nothing: the schedule keeps the class
(ids, codes and times, as the case events they project, and the KPI report
must not change), so the kit answers KEPT with the schedule's reason and
never calls `erase` or `rectify` for it."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import or_
from sqlmodel import Session, col, select

from frontdoor_contracts.privacy import PrivacyRequested
from frontdoor_contracts.retention import Schedule
from frontdoor_contracts.topics import OUTCOMES
from frontdoor_platform.privacy import Holding, Responder, records_in
from frontdoor_platform.reads import record_of

from ..models import READ_LOG, FamilyAliasRow, FamilyViewRow, OutboxEvent, OutcomesTable
from .chronology import ChronologyEntry
from .tables import (
    KpiAllocation,
    KpiCaseOpened,
    KpiClaimEligible,
    KpiClosure,
    KpiClosureChild,
    KpiContact,
    KpiDecision,
    KpiFamilyAlias,
    KpiFamilyIdentified,
    KpiOffer,
    KpiOutcomeAchieved,
    KpiReferralChild,
    KpiReReferralCorrection,
)

KPI_READ_MODEL = "kpi_read_model"
BY_FAMILY = (KpiCaseOpened, KpiAllocation, KpiOffer, KpiClosure, KpiFamilyIdentified, KpiOutcomeAchieved,
             KpiClaimEligible)


def _rows(table: type[OutcomesTable], rows: Sequence[Any]) -> list[dict[str, Any]]:
    names = [column.name for column in table.__table__.columns]  # type: ignore[attr-defined]
    return [{"table": table.__tablename__, **record} for record in records_in(rows, *names)]


def _where(session: Session, table: type[Any], **among: Collection[uuid.UUID]) -> Sequence[Any]:
    """The rows of `table` where any of the columns named holds one of the ids given for it."""
    tests = [col(getattr(table, name)).in_(sorted(ids, key=str)) for name, ids in among.items() if ids]
    if not tests:
        return []
    return session.exec(select(table).where(or_(*tests))).all()


def related_families(session: Session, family_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """These families with every family merged into them and every family they were merged into (the views'
    aliases and the read model's), followed through merges of merges; sorted."""
    found = set(family_ids)
    frontier = list(found)
    while frontier:
        views = _where(session, FamilyAliasRow, family_id=frontier, now_family_id=frontier)
        facts = _where(session, KpiFamilyAlias, merged_family_id=frontier, family_id=frontier)
        linked = {*(f for row in views for f in (row.family_id, row.now_family_id)),
                  *(f for row in facts for f in (row.merged_family_id, row.family_id))}
        frontier = list(linked - found)
        found.update(frontier)
    return sorted(found, key=str)


def held_records(session: Session, families: list[uuid.UUID], people: Collection[uuid.UUID],
                 contacts: Collection[uuid.UUID]) -> list[dict[str, Any]]:
    """The class's records about these families, people (as children) and contacts."""
    views = _where(session, FamilyViewRow, family_id=families)
    records = [{"table": FamilyViewRow.__tablename__, "family_id": str(row.family_id),
                "updated_at": row.updated_at.isoformat(), "view": json.loads(row.document)} for row in views]
    records += _rows(FamilyAliasRow, _where(session, FamilyAliasRow, family_id=families, now_family_id=families))
    records += _rows(KpiFamilyAlias, _where(session, KpiFamilyAlias, merged_family_id=families, family_id=families))
    recorded = _where(session, KpiContact, family_id=families, contact_id=contacts)
    decided = _where(session, KpiDecision, family_id=families, contact_id=contacts)
    their_contacts = {*contacts, *(row.contact_id for row in (*recorded, *decided))}
    records += _rows(KpiContact, recorded) + _rows(KpiDecision, decided)
    for per_child in (KpiReferralChild, KpiReReferralCorrection):
        records += _rows(per_child, _where(session, per_child, child_id=people, contact_id=their_contacts))
    cases: set[uuid.UUID] = set()
    for table in BY_FAMILY:
        found = _where(session, table, family_id=families)
        cases.update(row.case_id for row in found if hasattr(row, "case_id"))
        records += _rows(table, found)
    records += _rows(KpiClosureChild, _where(session, KpiClosureChild, child_id=people, case_id=cases))
    # The families' chronologies, and the re-referral corrections of their contacts (which name no family).
    records += _rows(ChronologyEntry, _where(session, ChronologyEntry, family_id=families, contact_id=their_contacts))
    return records


class OutcomesPrivacy:
    """`PrivacyHooks` for the outcomes service."""

    def held(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None) -> Holding:
        families = related_families(session, request.family_ids)
        records = held_records(session, families, set(request.person_ids), set(request.contact_ids))
        return Holding(classes={KPI_READ_MODEL: records}, read_records=[record_of("family", f) for f in families])

    def erase(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
              classes: frozenset[str], now: datetime) -> dict[str, int]:
        return {}  # the schedule keeps the read model (the module's docstring)

    def rectify(self, session: Session, request: PrivacyRequested, shared: Mapping[str, Any] | None,
                classes: frozenset[str], now: datetime) -> dict[str, int]:
        return {}


def responder(source_uri: str, schedule: Schedule) -> Responder:
    """The service's responder: no wrapping key, since it needs no share of a request's identifiers (the ids
    in clear find everything it holds)."""
    return Responder(service=OUTCOMES, source=source_uri, hooks=OutcomesPrivacy(), schedule=schedule,
                     reads=READ_LOG, outbox=OutboxEvent)
