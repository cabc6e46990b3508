"""Queries on the allocation service's tables. Callers own the transaction.
A case is stored whole as the JSON document of the domain `Case`
(`dump_case`, `load_case`), beside the columns the board queries on.

Several writers: a read with `lock=True` takes the cases' row locks (PostgreSQL `SELECT ... FOR UPDATE`;
SQLite's writer holds the whole database already) and reads them as committed, not as this session last
saw them; a case is inserted only if no case with its id and no other open case of its family is there
(`insert_case`: the partial unique index `ux_cases_one_open_per_family`), and updated only at the version it
was read at (`save_case`)."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import ColumnElement, Select, Table, bindparam, func, or_, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import ReturningInsert, Update
from sqlmodel import Session, col, select

from .domain.cases import Case
from .models import CaseRow, FamilyAlias, StaffAccountRow, TimelineEntry

_CASE = TypeAdapter(Case)


class StaleCase(RuntimeError):
    """The case changed since it was read (another writer): retry from a fresh read."""


def dump_case(case: Case) -> str:
    """The case's stored JSON document."""
    return _CASE.dump_json(case).decode()


def load_case(document: str) -> Case:
    return _CASE.validate_json(document)


def _loaded(session: Session, rows: Sequence[Any]) -> list[Case]:
    """Remember the version each case was read at, for save_case's check."""
    versions: dict[uuid.UUID, int] = session.info.setdefault("case_versions", {})
    cases = []
    for row in rows:
        versions[row.case_id] = row.version
        cases.append(load_case(row.document))
    return cases


def _stored(session: Session, *where: ColumnElement[bool], order_by: Any = None, lock: bool = False,
            skip_locked: bool = False) -> list[Case]:
    """The cases `where` picks (by case id, or `order_by`), as a plain statement on the session's connection
    reads them: as stored now, never an older copy an identity map kept (cases are written by statements);
    with `lock`, locked for this transaction (PostgreSQL; SQLite's writer holds the whole database). Nothing
    waiting in the session is flushed first: cases are written at once and aliases flushed as they are added,
    so what waits (timeline entries) is never what this reads; flushing it once a record cost a batch most of
    its time (py-spy, the bench), and it goes in one flush at the commit."""
    table = _cases()
    query = sa_select(table.c.case_id, table.c.version, table.c.document).where(*where)
    query = query.order_by(table.c.case_id if order_by is None else order_by)
    if lock:
        query = query.with_for_update(skip_locked=skip_locked)
    return _loaded(session, session.connection().execute(query).all())


def get_case(session: Session, case_id: uuid.UUID, *, lock: bool = False) -> Case | None:
    found = _stored(session, _cases().c.case_id == case_id, lock=lock)
    return found[0] if found else None


def family_cases(session: Session, family_id: uuid.UUID, *, lock: bool = False) -> list[Case]:
    return _stored(session, _cases().c.family_id == family_id, lock=lock)


def open_cases(session: Session) -> list[Case]:
    return _stored(session, col(CaseRow.is_open).is_(True), order_by=col(CaseRow.due_at))


def open_family_cases(session: Session, family_id: uuid.UUID) -> list[Case]:
    """The open cases of the family `family_id` is part of now (its own, or the one it was merged into)."""
    return _stored(session, col(CaseRow.family_id) == family_now(session, family_id), col(CaseRow.is_open).is_(True),
                   order_by=col(CaseRow.started_at))


def cases_awaiting_offer_due_by(session: Session, moment: datetime, *, lock: bool = False) -> list[Case]:
    """Open cases without an offer whose due time is at or before `moment`; with `lock`, only those no
    other transaction holds (skipped, not waited for: another worker's sweep has them)."""
    return _stored(session, col(CaseRow.status).in_(("open", "allocated")), col(CaseRow.due_at) <= moment,
                   lock=lock, skip_locked=True)


def _caseload_columns(case: Case) -> dict[str, Any]:
    """The columns a caseload is read by, from the case (its document holds them too)."""
    allocation = case.allocation
    return {"lead_agency_id": allocation.lead_agency_id if allocation else None,
            "lead_professional_ref": allocation.lead_professional_ref if allocation else None,
            "closed_at": case.closed_at}


def _cases() -> Table:
    return CaseRow.__table__  # type: ignore[attr-defined,no-any-return]


@functools.cache
def _case_update() -> Update:
    """The update of a case at the version it was read at, built once: its values are bound at each call."""
    table = _cases()
    return update(table).where(table.c.case_id == bindparam("at_id"), table.c.version == bindparam("at_version"))


@functools.cache
def _case_insert(dialect: str) -> ReturningInsert[tuple[uuid.UUID]]:
    """`INSERT ... ON CONFLICT DO NOTHING RETURNING case_id`, built once: its values are bound at each call."""
    table = _cases()
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing().returning(table.c.case_id)


def insert_case(session: Session, case: Case) -> bool:
    """Insert a new case; False, inserting nothing, when a case with its id or another open case of its
    family is there (committed by another writer: PostgreSQL waits for it to commit or roll back)."""
    values = {"case_id": case.case_id, "family_id": case.family_id, "status": case.status.value,
              "is_open": case.is_open, "source": case.source.value, "started_at": case.started_at,
              "due_at": case.due_at, "version": 1, "document": dump_case(case), **_caseload_columns(case)}
    connection = session.connection()  # the statement as it is, not the ORM's: nothing waiting is flushed
    inserted = connection.execute(_case_insert(connection.dialect.name), values).first()
    if inserted is None:
        return False
    session.info.setdefault("case_versions", {})[case.case_id] = 1
    return True


def save_case(session: Session, case: Case) -> None:
    """Insert a new case, or update one only if nobody changed it since this
    session read it (optimistic concurrency: raises StaleCase otherwise)."""
    versions: dict[uuid.UUID, int] = session.info.setdefault("case_versions", {})
    read_at = versions.get(case.case_id)
    if read_at is None:
        if not insert_case(session, case):
            raise StaleCase(str(case.case_id))
        return
    result = session.connection().execute(_case_update(), {
        "at_id": case.case_id, "at_version": read_at, "status": case.status.value, "is_open": case.is_open,
        "family_id": case.family_id, "document": dump_case(case), "version": read_at + 1,
        **_caseload_columns(case)})
    if result.rowcount != 1:
        raise StaleCase(str(case.case_id))
    versions[case.case_id] = read_at + 1


def caseload_cases(session: Session, closed_since: datetime, *, agency: str | None = None,
                   professional: str | None = None) -> tuple[list[Case], list[Case]]:
    """The open allocated cases, and the cases closed at or after `closed_since`: of every agency, or of
    `agency` (and of its lead professional `professional`), each oldest first."""
    scope: list[ColumnElement[bool]] = [col(CaseRow.lead_agency_id).is_not(None)]
    if agency is not None:
        scope.append(col(CaseRow.lead_agency_id) == agency)
    if professional is not None:
        scope.append(col(CaseRow.lead_professional_ref) == professional)
    return (_stored(session, col(CaseRow.is_open).is_(True), *scope, order_by=col(CaseRow.started_at)),
            _stored(session, col(CaseRow.closed_at) >= closed_since, *scope, order_by=col(CaseRow.closed_at)))


def known_leads(session: Session) -> tuple[list[str], list[tuple[str, str]]]:
    """What the allocation form suggests: the agencies cases were allocated to or staff accounts are bound to,
    and the agencies' staff accounts (staff id, agency), each sorted."""
    agencies = set(session.exec(select(CaseRow.lead_agency_id).where(
        col(CaseRow.lead_agency_id).is_not(None)).distinct()).all())
    staff = [(row.staff_id, row.scope) for row in session.exec(select(StaffAccountRow).where(
        col(StaffAccountRow.scope).is_not(None))).all() if "agency" in row.staff_roles() and row.scope]
    agencies |= {scope for _, scope in staff}
    return sorted(a for a in agencies if a), sorted(staff)


def add_timeline(session: Session, case_id: uuid.UUID, at: datetime, kind: str, **detail: Any) -> None:
    session.add(TimelineEntry(case_id=case_id, at=at, kind=kind, detail=detail))


def timeline(session: Session, case_id: uuid.UUID) -> Sequence[TimelineEntry]:
    query = select(TimelineEntry).where(TimelineEntry.case_id == case_id).order_by(col(TimelineEntry.id))
    return session.exec(query).all()


def awaiting_offer_starts(session: Session) -> Sequence[datetime]:
    """When each case awaiting an offer started: one column, for the gauges."""
    query = select(CaseRow.started_at).where(col(CaseRow.status).in_(("open", "allocated")))
    return session.exec(query).all()


def overdue_count(session: Session, now: datetime) -> int:
    query = select(func.count()).select_from(CaseRow).where(col(CaseRow.status).in_(("open", "allocated")),
                                                           col(CaseRow.due_at) <= now)
    return int(session.exec(query).one())


def lead_organisations_by_kind(session: Session) -> dict[str, int]:
    """Distinct lead agencies per kind, over every case ever allocated."""
    seen: dict[str, set[str]] = {}
    for document in session.connection().execute(sa_select(_cases().c.document).where(col(CaseRow.status) != "open")
                                                 ).scalars():
        allocation = load_case(document).allocation
        if allocation is not None:
            seen.setdefault(allocation.agency_kind.value, set()).add(allocation.lead_agency_id)
    return {kind: len(ids) for kind, ids in sorted(seen.items())}


@functools.cache
def _aliases_into() -> Select[tuple[uuid.UUID, uuid.UUID]]:
    """Where the families merged: a plain statement, built once (asked at every record)."""
    table = FamilyAlias.__table__  # type: ignore[attr-defined]
    return sa_select(table.c.merged_family_id, table.c.family_id).where(
        table.c.merged_family_id.in_(bindparam("merged", expanding=True)))


def families_now(session: Session, family_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, uuid.UUID]:
    """The family each of these is part of now (itself, unless it was merged; followed through merges of
    merges), as committed when asked: one query a step of the longest chain."""
    now = {family_id: family_id for family_id in family_ids}
    seen = {family_id: {family_id} for family_id in family_ids}
    moving = set(now)
    while moving:
        asked = session.connection().execute(_aliases_into(), {"merged": list({now[f] for f in moving})})
        into: dict[uuid.UUID, uuid.UUID] = {row.merged_family_id: row.family_id for row in asked}
        still = set()
        for family_id in moving:
            target = into.get(now[family_id])
            if target is not None and target not in seen[family_id]:
                now[family_id] = target
                seen[family_id].add(target)
                still.add(family_id)
        moving = still
    return now


def family_now(session: Session, family_id: uuid.UUID) -> uuid.UUID:
    """The family `family_id` is part of now (itself, unless it was merged;
    followed through merges of merges)."""
    return families_now(session, [family_id])[family_id]


def add_family_aliases(session: Session, family_id: uuid.UUID, merged: Sequence[uuid.UUID], now: datetime) -> None:
    ids = [f for f in merged if f != family_id]
    if not ids:
        return
    # Families merged into these earlier now point at the family that remains.
    session.execute(update(FamilyAlias).where(col(FamilyAlias.family_id).in_(ids)).values(family_id=family_id))
    for merged_id in ids:
        alias = session.get(FamilyAlias, merged_id) or FamilyAlias(merged_family_id=merged_id, family_id=family_id,
                                                                   merged_at=now)
        alias.family_id = family_id
        session.add(alias)
    session.flush()  # written now: what a family is part of now is read by plain statements, which flush nothing


def related_families(session: Session, family_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """These families with every family merged into them and every family they were merged into
    (family_aliases, followed through merges of merges), sorted."""
    found = set(family_ids)
    frontier = list(found)
    while frontier:
        query = select(FamilyAlias).where(or_(col(FamilyAlias.merged_family_id).in_(frontier),
                                              col(FamilyAlias.family_id).in_(frontier)))
        frontier = []
        for alias in session.exec(query).all():
            for family_id in (alias.merged_family_id, alias.family_id):
                if family_id not in found:
                    found.add(family_id)
                    frontier.append(family_id)
    return sorted(found, key=str)


def aliases_of(session: Session, family_ids: Sequence[uuid.UUID]) -> Sequence[FamilyAlias]:
    """The merges these families took part in (either side)."""
    query = select(FamilyAlias).where(or_(col(FamilyAlias.merged_family_id).in_(family_ids),
                                          col(FamilyAlias.family_id).in_(family_ids)))
    return session.exec(query.order_by(col(FamilyAlias.merged_at))).all()


def cases_of_families(session: Session, family_ids: Sequence[uuid.UUID]) -> list[Case]:
    """Every case, open or closed, of these families, oldest first."""
    return _stored(session, col(CaseRow.family_id).in_(family_ids), order_by=col(CaseRow.started_at))
