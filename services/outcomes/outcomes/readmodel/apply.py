"""Events into KPI facts: `apply(session, topic, event)`, idempotent.

The caller decodes (`parse_event(raw, MODELS[topic], lenient=True)`) and owns
the transaction; `apply` only adds rows, with INSERT ... ON CONFLICT DO
NOTHING on the fact's key (the event id, and the child where per child), so
a redelivered event changes nothing and `apply` says so (False)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from typing import Any

from sqlalchemy import inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, update

from frontdoor_contracts.allocation import CaseAllocated, CaseClosed, CaseOpened, OfferMade
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, FamiliesMerged, ReReferralCorrected
from frontdoor_contracts.envelope import CloudEvent, EventData
from frontdoor_contracts.notifications import NotificationDelivered
from frontdoor_contracts.outcomes import ClaimEligible, FamilyIdentified, OutcomeAchieved
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_MADE,
    CONTACTS_DECIDED,
    CONTACTS_FAMILIES_MERGED,
    CONTACTS_RE_REFERRAL_CORRECTED,
    CONTACTS_RECORDED,
    NOTIFICATIONS_DELIVERED,
    OUTCOMES_CLAIM_ELIGIBLE,
    OUTCOMES_FAMILY_IDENTIFIED,
    OUTCOMES_OUTCOME_ACHIEVED,
)

from ..models import OutcomesTable
from .tables import (
    KpiAllocation,
    KpiCaseOpened,
    KpiClaimEligible,
    KpiClosure,
    KpiClosureChild,
    KpiContact,
    KpiDecision,
    KpiDelivery,
    KpiFamilyAlias,
    KpiFamilyIdentified,
    KpiOffer,
    KpiOutcomeAchieved,
    KpiReferralChild,
    KpiReReferralCorrection,
    join_categories,
)

Row = dict[str, Any]
MERGE_LOCK = 0x6B70695F6D657267  # "kpi_merg": the transaction-level advisory lock family merges take


_BUFFER: ContextVar[dict[type[OutcomesTable], list[Row]] | None] = ContextVar("kpi_rows", default=None)


@contextlib.contextmanager
def buffered(session: Session) -> Iterator[None]:
    """Within it, new fact rows are gathered and written per table at the end
    (one executemany each: a rebuild's batches); `insert_new` then answers
    True without looking."""
    token = _BUFFER.set({})
    try:
        yield
        _flush(session)
    finally:
        _BUFFER.reset(token)


def _flush(session: Session) -> None:
    pending = _BUFFER.get() or {}
    dialect = session.connection().dialect.name
    for table, rows in pending.items():
        if dialect not in ("postgresql", "sqlite"):
            for row in rows:
                insert_new_now(session, table, [row])
            continue
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(insert(inspect(table).local_table).on_conflict_do_nothing(), rows)
    pending.clear()


def insert_new(session: Session, table: type[OutcomesTable], rows: Sequence[Row]) -> bool:
    """Insert the rows whose key is not there yet; True when any was new."""
    if not rows:
        return False
    pending = _BUFFER.get()
    if pending is not None:
        pending.setdefault(table, []).extend(rows)
        return True
    return insert_new_now(session, table, rows)


def insert_new_now(session: Session, table: type[OutcomesTable], rows: Sequence[Row]) -> bool:
    target = inspect(table).local_table
    key = list(target.primary_key.columns)
    dialect = session.connection().dialect.name
    if dialect in ("postgresql", "sqlite"):
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        # RETURNING the rows inserted: rowcount is not reliable for a multi-row INSERT on every driver.
        statement = insert(target).values(list(rows)).on_conflict_do_nothing().returning(*key)
        return bool(session.exec(statement).all())
    # any other database: look before adding
    new = [row for row in rows if session.get(table, tuple(row[column.name] for column in key)) is None]
    session.add_all(table(**row) for row in new)
    session.flush()
    return bool(new)


def _contact_recorded(session: Session, event: CloudEvent[ContactRecorded]) -> bool:
    d = event.data
    return insert_new(session, KpiContact, [dict(
        event_id=event.id, contact_id=d.contact_id, family_id=d.family_id, referrer_source=str(d.referrer_source),
        channel=str(d.channel), children=len(d.children), da_incident=d.da_incident, received_at=d.received_at)])


def _contact_decided(session: Session, event: CloudEvent[ContactDecided]) -> bool:
    d = event.data
    decided = insert_new(session, KpiDecision, [dict(
        event_id=event.id, contact_id=d.contact_id, family_id=d.family_id, decision=str(d.decision),
        level_of_need=int(d.level_of_need), referral=d.referral, decided_at=d.decided_at)])
    children = insert_new(session, KpiReferralChild, [dict(
        event_id=event.id, child_id=child.child_id, contact_id=d.contact_id, referral=child.referral,
        re_referral=child.re_referral, decided_at=d.decided_at) for child in d.children])
    return decided or children


def _re_referral_corrected(session: Session, event: CloudEvent[ReReferralCorrected]) -> bool:
    d = event.data
    return insert_new(session, KpiReReferralCorrection, [dict(
        event_id=event.id, contact_id=d.contact_id, child_id=d.child_id, re_referral=d.re_referral,
        decided_at=d.decided_at, corrected_at=d.corrected_at)])


def family_now(session: Session, family_id: uuid.UUID) -> uuid.UUID:
    """The family `family_id` is part of now (the alias table is flat: one look-up)."""
    alias = session.get(KpiFamilyAlias, family_id)
    return family_id if alias is None else alias.family_id


def _families_merged(session: Session, event: CloudEvent[FamiliesMerged]) -> bool:
    """Each merged family (as it stands now) becomes part of the remaining one,
    and so do the families merged into it before. Merges of merges, in any
    order, leave the same families together."""
    d = event.data
    if session.connection().dialect.name == "postgresql":
        # One merge at a time, so two consumers cannot each repoint half a chain (SQLite has one writer anyway).
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MERGE_LOCK})
    remaining = family_now(session, d.family_id)
    changed = False
    for merged in d.merged_family_ids:
        joining = family_now(session, merged)
        if joining == remaining:
            continue
        session.exec(update(KpiFamilyAlias).where(col(KpiFamilyAlias.family_id) == joining)
                     .values(family_id=remaining))
        session.add(KpiFamilyAlias(merged_family_id=joining, family_id=remaining, merged_at=d.merged_at))
        session.flush()
        changed = True
    return changed


def _case_opened(session: Session, event: CloudEvent[CaseOpened]) -> bool:
    d = event.data
    return insert_new(session, KpiCaseOpened, [dict(
        event_id=event.id, case_id=d.case_id, family_id=d.family_id, source=str(d.source),
        headline_problems=join_categories([str(p) for p in d.headline_problems]), children=len(d.child_ids),
        opened_at=d.opened_at)])


def _case_allocated(session: Session, event: CloudEvent[CaseAllocated]) -> bool:
    d = event.data
    return insert_new(session, KpiAllocation, [dict(
        event_id=event.id, case_id=d.case_id, family_id=d.family_id, lead_agency_id=d.lead_agency_id,
        agency_kind=str(d.agency_kind), at_meeting=d.at_meeting, allocated_at=d.allocated_at)])


def _offer_made(session: Session, event: CloudEvent[OfferMade]) -> bool:
    d = event.data
    return insert_new(session, KpiOffer, [dict(
        event_id=event.id, case_id=d.case_id, family_id=d.family_id, agency_kind=str(d.agency_kind),
        days_taken=d.days_taken, within_target=d.within_target, target_calendar=str(d.target_calendar),
        offered_at=d.offered_at)])


def _case_closed(session: Session, event: CloudEvent[CaseClosed]) -> bool:
    d = event.data
    closed = insert_new(session, KpiClosure, [dict(
        event_id=event.id, case_id=d.case_id, family_id=d.family_id, source=str(d.source), outcome=str(d.outcome),
        agency_kind=None if d.agency_kind is None else str(d.agency_kind), closed_at=d.closed_at)])
    children = insert_new(session, KpiClosureChild, [dict(
        event_id=event.id, child_id=child_id, case_id=d.case_id, outcome=str(d.outcome), closed_at=d.closed_at)
        for child_id in d.child_ids])
    return closed or children


def _delivered(session: Session, event: CloudEvent[NotificationDelivered]) -> bool:
    d = event.data
    return insert_new(session, KpiDelivery, [dict(
        event_id=event.id, notification_id=d.notification_id, kind=str(d.kind), channel=str(d.channel),
        before_deadline=d.before_deadline, delivered_at=d.delivered_at)])


def _family_identified(session: Session, event: CloudEvent[FamilyIdentified]) -> bool:
    d = event.data
    return insert_new(session, KpiFamilyIdentified, [dict(
        event_id=event.id, family_id=d.family_id, headline_problems=join_categories([str(p) for p in
                                                                                   d.headline_problems]),
        identified_at=d.identified_at)])


def _outcome_achieved(session: Session, event: CloudEvent[OutcomeAchieved]) -> bool:
    d = event.data
    return insert_new(session, KpiOutcomeAchieved, [dict(
        event_id=event.id, family_id=d.family_id, case_id=d.case_id, achieved_at=d.achieved_at)])


def _claim_eligible(session: Session, event: CloudEvent[ClaimEligible]) -> bool:
    d = event.data
    return insert_new(session, KpiClaimEligible, [dict(
        event_id=event.id, family_id=d.family_id, case_id=d.case_id, basis=d.basis, eligible_at=d.eligible_at)])


Handler = Callable[[Session, Any], bool]

_HANDLERS: dict[str, tuple[type[EventData], Handler]] = {
    CONTACTS_RECORDED.name: (ContactRecorded, _contact_recorded),
    CONTACTS_DECIDED.name: (ContactDecided, _contact_decided),
    CONTACTS_RE_REFERRAL_CORRECTED.name: (ReReferralCorrected, _re_referral_corrected),
    CONTACTS_FAMILIES_MERGED.name: (FamiliesMerged, _families_merged),
    ALLOCATION_CASE_OPENED.name: (CaseOpened, _case_opened),
    ALLOCATION_CASE_ALLOCATED.name: (CaseAllocated, _case_allocated),
    ALLOCATION_OFFER_MADE.name: (OfferMade, _offer_made),
    ALLOCATION_CASE_CLOSED.name: (CaseClosed, _case_closed),
    NOTIFICATIONS_DELIVERED.name: (NotificationDelivered, _delivered),
    OUTCOMES_FAMILY_IDENTIFIED.name: (FamilyIdentified, _family_identified),
    OUTCOMES_OUTCOME_ACHIEVED.name: (OutcomeAchieved, _outcome_achieved),
    OUTCOMES_CLAIM_ELIGIBLE.name: (ClaimEligible, _claim_eligible),
}

MODELS: dict[str, type[EventData]] = {topic: model for topic, (model, _) in _HANDLERS.items()}
"""The topics the read model consumes, and the event each carries (for `parse_event`)."""


def apply(session: Session, topic: str, event: CloudEvent[Any]) -> bool:
    """Record the facts `event` (from `topic`) carries; True when anything
    changed. A topic the read model does not consume changes nothing; an
    event of another type than the topic carries is a TypeError."""
    entry = _HANDLERS.get(topic)
    if entry is None:
        return False
    model, handler = entry
    if not isinstance(event.data, model):
        raise TypeError(f"{topic} carries {model.__name__}, not {type(event.data).__name__}")
    return handler(session, event)
