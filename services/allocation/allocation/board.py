"""What the meeting's board and the caseloads show, read once for the API and
the pages (one code path): the next meeting's agenda, the open cases by
status, one case with its timeline, the caseloads of every agency, of one
agency and of one lead professional. Each answer is a view (`views.py`:
ids, codes, counts and times, never a name or free text), and the cases and
families it shows are in the read log (who: the API key's client or the
member of staff; the route) before it is returned; when the log cannot be
written the read is refused (503), nothing shown.

Who sees what (`moves.agency_of`): the coordinator and a reader see every
case; an agency only the cases allocated to it (no agenda: unallocated cases
are nobody's yet), and another agency's caseload or case is 404."""

from __future__ import annotations

import uuid
from typing import Any

from sqlmodel import Session

from frontdoor_contracts.vocabulary import CaseStatus
from frontdoor_platform import reads
from frontdoor_platform.problems import ProblemError

from . import store, views
from .domain.calendar import local_date
from .domain.caseloads import caseload, group_by, quarter_began, quarter_start, split_by
from .domain.cases import Case
from .domain.meetings import agenda, next_meeting
from .moves import Actor, agency_of, visible
from .runtime import Runtime

BOARD_STATUSES = (CaseStatus.OPEN, CaseStatus.ALLOCATED, CaseStatus.OFFER_MADE, CaseStatus.ACCEPTED)


def _shown(log: reads.Reads, db: Session, cases: list[Case]) -> None:
    """The cases (and their families) in the read log before they are answered (503 if they cannot be)."""
    log.shown_from_thread(db, [record for c in cases for record in (
        reads.record_of("case", c.case_id), reads.record_of("family", c.family_id))])


def _agenda(rt: Runtime, cases: list[Case]) -> tuple[dict[str, Any], list[Case]]:
    now = rt.clock()
    meeting_at = next_meeting(now, rt.meeting, rt.rules.bank_holidays)
    items = agenda(cases, now=now, meeting_at=meeting_at, bank_holidays=rt.rules.bank_holidays)
    return views.agenda_view(meeting_at, items, now, rt.rules.bank_holidays), [item.case for item in items]


def meeting_agenda(rt: Runtime, db: Session, log: reads.Reads) -> dict[str, Any]:
    """The next meeting and every unallocated case, most urgent first (the roles check is the caller's)."""
    shown, cases = _agenda(rt, store.open_cases(db))
    _shown(log, db, cases)
    return shown


def _held_by(cases: list[Case], agency: str | None) -> list[Case]:
    return [c for c in cases if agency is None or (c.allocation is not None and c.allocation.lead_agency_id == agency)]


def open_cases(rt: Runtime, db: Session, who: Actor, log: reads.Reads,
               family_id: uuid.UUID | None = None) -> list[dict[str, Any]]:
    """Every open case `who` may see (with `family_id`, only that family's), soonest due first."""
    found = store.open_cases(db) if family_id is None else store.open_family_cases(db, family_id)
    cases = _held_by(found, agency_of(who, reading=True))
    shown = [views.case_view(c, rt.clock(), rt.rules.bank_holidays) for c in cases]
    _shown(log, db, cases)
    return shown


def meeting_board(rt: Runtime, db: Session, who: Actor, log: reads.Reads) -> dict[str, Any]:
    """The board: the next meeting's agenda (for those who see every case; None for an agency), and the open
    cases `who` may see by status, each group longest waiting first."""
    agency = agency_of(who, reading=True)
    now, found = rt.clock(), store.open_cases(db)  # read once: the agenda and the groups agree
    if agency is None:
        agenda_shown, _ = _agenda(rt, found)
    else:
        agenda_shown = {"meeting_at": next_meeting(now, rt.meeting, rt.rules.bank_holidays).isoformat(),
                        "cases": None}
    cases = _held_by(found, agency)
    groups = [{"status": status.value, "cases": [
        views.case_view(c, now, rt.rules.bank_holidays)
        for c in sorted((c for c in cases if c.status is status), key=lambda c: (c.started_at, c.case_id))]}
        for status in BOARD_STATUSES]
    _shown(log, db, cases)
    return {"meeting_at": agenda_shown["meeting_at"], "agenda": agenda_shown["cases"], "open_by_status": groups}


def case_with_timeline(rt: Runtime, db: Session, who: Actor, log: reads.Reads, case_id: uuid.UUID) -> dict[str, Any]:
    case = visible(store.get_case(db, case_id), agency_of(who, reading=True))
    shown = {**views.case_view(case, rt.clock(), rt.rules.bank_holidays),
             "timeline": views.timeline_view(store.timeline(db, case_id))}
    _shown(log, db, [case])
    return shown


def _held_to(who: Actor, agency_id: str | None) -> str | None:
    """The agency whose caseloads `who` reads: `agency_id` (None: all), refused as 404 when `who` is
    another agency's."""
    held = agency_of(who, reading=True)
    if held is not None and agency_id is not None and agency_id != held:
        raise ProblemError(404, "no such caseload")
    return agency_id if agency_id is not None else held


def caseloads(rt: Runtime, db: Session, who: Actor) -> dict[str, Any]:
    """Every agency's caseload in counts (an agency: its own), with its lead professionals'. Counts only:
    no case is shown, so nothing goes in the read log."""
    now, holidays = rt.clock(), rt.rules.bank_holidays
    open_found, closed = store.caseload_cases(db, quarter_began(now), agency=_held_to(who, None))
    return {"quarter_start": quarter_start(local_date(now)).isoformat(), "agencies": [
        {"lead_agency_id": agency_id, **views.caseload_summary(caseload(o, c, now=now, bank_holidays=holidays)),
         "lead_professionals": views.professionals(split_by(o, c, professional=True, now=now,
                                                            bank_holidays=holidays))}
        for agency_id, (o, c) in group_by(open_found, closed, professional=False).items()]}


def agency_caseload(rt: Runtime, db: Session, who: Actor, log: reads.Reads, agency_id: str,
                    professional: str | None = None) -> dict[str, Any]:
    """One agency's caseload (or one of its lead professional's): the counts, its lead professionals' counts
    and its open cases, longest held first."""
    now = rt.clock()
    agency = _held_to(who, agency_id)
    assert agency is not None
    open_found, closed = store.caseload_cases(db, quarter_began(now), agency=agency, professional=professional)
    load = caseload(open_found, closed, now=now, bank_holidays=rt.rules.bank_holidays)
    shown = {"lead_agency_id": agency, "lead_professional_ref": professional,
             "quarter_start": quarter_start(local_date(now)).isoformat(), **views.caseload_summary(load),
             "lead_professionals": views.professionals(split_by(
                 open_found, closed, professional=True, now=now, bank_holidays=rt.rules.bank_holidays)),
             "cases": [views.held_view(h, now, rt.rules.bank_holidays) for h in load.cases]}
    _shown(log, db, [h.case for h in load.cases])
    return shown
