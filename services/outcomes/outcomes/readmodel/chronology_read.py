"""One family's chronology as a reader sees it: every row about the family
and the families merged into it, the re-referral corrections of its
contacts, and from the family's picture (`family_views`) each plan's
making and each target met (a day, as the rules decide it), in time
order (events of the same instant in the order a case runs: `Kind`).

Who may see it: the Early Help manager every family; an agency only a
family one of whose cases is allocated to it now (the latest allocation of
the case names it); to anyone else the family does not exist (404, as one
never seen)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_
from sqlmodel import Session, col, select

from ..domain.days import day_of, start_of
from ..domain.view import FamilyView
from ..models import FamilyAliasRow, FamilyViewRow
from .apply import family_now
from .chronology import RANK, ChronologyEntry, Facts, Kind
from .tables import KpiFamilyAlias

MOST_ENTRIES = 5_000  # a family's rows read at most (the newest kept): far beyond any family's years of events


class Precision(StrEnum):
    INSTANT = "instant"  # the event's own time
    DAY = "day"  # a day the outcome rules decide (a plan's start, a target met from): shown by its day


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime = Field(description="When it happened (UTC); for a rule's day, the start of that day in England "
                         "(a plan made: its case's opening)")
    day: date = Field(description="The day in England")
    precision: Precision
    kind: Kind
    event_id: str | None = Field(default=None, description="The CloudEvent it came from (none for a rule's day)")
    family_id: uuid.UUID | None = Field(default=None, description="The family the event named")
    case_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = None
    agency_id: str | None = Field(default=None, description="The lead agency (allocation, offer, answer, closure)")
    facts: Facts


class Chronology(BaseModel):
    model_config = ConfigDict(extra="forbid")

    family_id: uuid.UUID = Field(description="The family asked for")
    now_family_id: uuid.UUID = Field(description="The family it is part of now (itself unless merged)")
    family_ids: list[uuid.UUID] = Field(description="Every family whose events are shown (merged ones included)")
    truncated: bool = Field(description=f"More than {MOST_ENTRIES:,} events: the oldest are left out")
    items: list[Item]


def _family_ids(session: Session, now: uuid.UUID) -> list[uuid.UUID]:
    merged = session.exec(select(KpiFamilyAlias.merged_family_id)
                          .where(col(KpiFamilyAlias.family_id) == now)).all()
    return [now, *sorted(merged, key=str)]


def _rows(session: Session, families: Sequence[uuid.UUID]) -> tuple[list[ChronologyEntry], bool]:
    rows = list(session.exec(select(ChronologyEntry).where(col(ChronologyEntry.family_id).in_(families))
                             .order_by(col(ChronologyEntry.at).desc()).limit(MOST_ENTRIES + 1)).all())
    truncated = len(rows) > MOST_ENTRIES
    rows = rows[:MOST_ENTRIES]
    contacts = sorted({row.contact_id for row in rows if row.contact_id is not None}, key=str)
    if contacts:
        rows += session.exec(select(ChronologyEntry).where(and_(
            col(ChronologyEntry.family_id).is_(None), col(ChronologyEntry.contact_id).in_(contacts)))
            .limit(MOST_ENTRIES)).all()
    return rows, truncated


def lead_agencies(rows: Sequence[ChronologyEntry]) -> set[str]:
    """The agencies the family's cases are allocated to now: each case's latest allocation."""
    latest: dict[uuid.UUID, ChronologyEntry] = {}
    for row in rows:
        if row.kind == Kind.CASE_ALLOCATED and row.case_id is not None and row.agency_id is not None:
            held = latest.get(row.case_id)
            if held is None or (row.at, row.event_id) > (held.at, held.event_id):
                latest[row.case_id] = row
    return {row.agency_id for row in latest.values() if row.agency_id is not None}


def _item(row: ChronologyEntry) -> Item:
    return Item(at=row.at, day=day_of(row.at), precision=Precision.INSTANT, kind=Kind(row.kind),
                event_id=row.event_id, family_id=row.family_id, case_id=row.case_id, contact_id=row.contact_id,
                agency_id=row.agency_id, facts=Facts.model_validate_json(row.facts))


def _day(kind: Kind, day: date, case_id: uuid.UUID, facts: Facts, at: datetime | None = None) -> Item:
    return Item(at=at or start_of(day), day=day, precision=Precision.DAY, kind=kind, case_id=case_id, facts=facts)


def from_picture(view: FamilyView, opened: dict[uuid.UUID, datetime]) -> list[Item]:
    """Each plan made (its problems and the targets measured; at its case's opening, `opened`, when that is on
    the plan's day) and each target met, from the family's picture."""
    items: list[Item] = []
    for plan in view.plans:
        at = opened.get(plan.case_id)
        items.append(_day(Kind.PLAN_MADE, plan.starts_on, plan.case_id, Facts(
            problems=[str(p) for p in plan.problems], targets=[str(t.problem) for t in plan.targets if t.measured]),
            at if at is not None and day_of(at) == plan.starts_on else None))
        items += [_day(Kind.TARGET_MET, t.met_from, plan.case_id, Facts(problems=[str(t.problem)]))
                  for t in plan.targets if t.met_from is not None]
    return items


def chronology(session: Session, family_id: uuid.UUID, agency: str | None) -> Chronology | None:
    """The family's chronology; None when the service never saw it, or `agency` (None: every family) is not the
    lead agency of any of its cases now."""
    now = family_now(session, family_id)
    families = _family_ids(session, now)
    rows, truncated = _rows(session, families)
    alias = session.get(FamilyAliasRow, family_id)  # the picture's own merges, as GET /v1/families/{id} follows
    picture = session.get(FamilyViewRow, alias.now_family_id if alias else now)
    if not rows and picture is None:
        return None
    if agency is not None and agency not in lead_agencies(rows):
        return None
    items = [_item(row) for row in rows]
    if picture is not None:
        opened = {row.case_id: row.at for row in rows if row.kind == Kind.CASE_OPENED and row.case_id is not None}
        items += from_picture(FamilyView.model_validate_json(picture.document), opened)
    items.sort(key=lambda i: (i.at, RANK[i.kind], i.event_id or "", str(i.case_id)))
    return Chronology(family_id=family_id, now_family_id=now, family_ids=families, truncated=truncated, items=items)
