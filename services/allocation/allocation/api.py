"""HTTP routes: the meeting agenda, the board, a case's timeline, the caseloads
(of every agency, of one, of one lead professional), and the moves (allocate,
record offer, record answer, step up, close), each audited in its own
transaction (who: the key; the case's status before and after, with what the
body said); the audit trail and the read log for the admin role. What the
reads show and how the moves are made is `board.py`'s and `moves.py`'s, the
same for the pages (one code path): the cases shown are in the read log (the
key, the cases and families by id, the route) before they are answered. The
routes are plain functions: FastAPI runs them in worker threads, off the
event loop."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from frontdoor_platform import audit_read, reads, reads_route
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, WriteSession, app_runtime, requires, requires_any
from frontdoor_platform.problems import problem_responses

from . import board, moves, store, views
from .access import Role
from .models import AuditEntry, ReadEntry
from .moves import Actor, AllocationRequest, AnswerRequest, ClosureRequest, OfferRequest, StepUpRequest
from .responses import Agenda, Board, Caseload, Caseloads, CaseView, CaseWithTimeline, Leads, MeetingBoard
from .runtime import Runtime

router = APIRouter()
READS = problem_responses(401, 403, 422)
LOGGED = problem_responses(401, 403, 422, 503)
MOVES = problem_responses(401, 403, 404, 409, 422)


RuntimeDep = Annotated[Runtime, Depends(app_runtime)]


SessionDep = ReadSession
WriterDep = WriteSession
Coordinator = Annotated[Caller, Depends(requires(Role.COORDINATOR))]
Agency = Annotated[Caller, Depends(requires(Role.AGENCY))]
Reader = Annotated[Caller, Depends(requires(Role.READ))]
BoardReader = Annotated[Caller, Depends(requires_any(Role.READ, Role.AGENCY))]
ReadLog = Annotated[reads.Reads, Depends(reads.recorder(ReadEntry))]
audit_read.add_audit_route(router, AuditEntry, requires(Role.ADMIN))
reads_route.add_reads_route(router, ReadEntry, requires(Role.ADMIN))


AGENCY_ID = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"  # the contracts' identifier (no "/" in a path)
AgencyPath = Annotated[str, Path(pattern=AGENCY_ID, description="The lead agency's id")]
StaffPath = Annotated[str, Path(pattern=AGENCY_ID, description="The lead professional's staff reference")]


@router.get("/v1/agenda", tags=["meeting"], response_model=Agenda, responses=LOGGED)
def meeting_agenda(rt: RuntimeDep, db: SessionDep, who: Reader, log: ReadLog) -> dict[str, Any]:
    """The next allocations meeting: every unallocated case, most urgent first."""
    return board.meeting_agenda(rt, db, log)


@router.get("/v1/board", tags=["meeting"], response_model=MeetingBoard, responses=LOGGED)
def meeting_board(rt: RuntimeDep, db: SessionDep, who: BoardReader, log: ReadLog) -> dict[str, Any]:
    """The meeting's board: the next meeting's agenda, most urgent first (for the coordinator and readers; null
    for an agency), and the open cases by status (open, allocated, offer_made, accepted), each with its days
    waiting, longest waiting first (an agency sees the cases allocated to it)."""
    return board.meeting_board(rt, db, Actor.client(who), log)


@router.get("/v1/cases", tags=["board"], response_model=Board, responses=LOGGED)
def open_cases(rt: RuntimeDep, db: SessionDep, who: BoardReader, log: ReadLog,
               family_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Every open case with days waiting and days left, overdue ones included
    (an agency sees the cases allocated to it); with `family_id`, only that family's open case (the family it
    was merged into, if it was), without reading the whole board."""
    return {"cases": board.open_cases(rt, db, Actor.client(who), log, family_id)}


@router.get("/v1/cases/{case_id}", tags=["board"], response_model=CaseWithTimeline,
            responses=problem_responses(401, 403, 404, 422, 503))
def case_timeline(case_id: uuid.UUID, rt: RuntimeDep, db: SessionDep, who: BoardReader,
                  log: ReadLog) -> dict[str, Any]:
    return board.case_with_timeline(rt, db, Actor.client(who), log, case_id)


@router.get("/v1/caseloads", tags=["caseloads"], response_model=Caseloads, responses=READS)
def caseloads(rt: RuntimeDep, db: SessionDep, who: BoardReader) -> dict[str, Any]:
    """Each agency's caseload in counts (an agency sees its own): open cases, offers outstanding (allocated, no
    offer yet), offers awaiting the family's answer, and cases closed this quarter by outcome; with each of its
    lead professionals' counts."""
    return board.caseloads(rt, db, Actor.client(who))


@router.get("/v1/caseloads/{agency_id}", tags=["caseloads"], response_model=Caseload,
            responses=problem_responses(401, 403, 404, 422, 503))
def agency_caseload(agency_id: AgencyPath, rt: RuntimeDep, db: SessionDep, who: BoardReader,
                    log: ReadLog) -> dict[str, Any]:
    """One agency's caseload: its counts, its lead professionals' counts, and its open cases with the days
    since each was allocated, longest held first (another agency's is 404)."""
    return board.agency_caseload(rt, db, Actor.client(who), log, agency_id)


@router.get("/v1/caseloads/{agency_id}/professionals/{lead_professional_ref}", tags=["caseloads"],
            response_model=Caseload, responses=problem_responses(401, 403, 404, 422, 503))
def professional_caseload(agency_id: AgencyPath, lead_professional_ref: StaffPath, rt: RuntimeDep,
                          db: SessionDep, who: BoardReader, log: ReadLog) -> dict[str, Any]:
    """One lead professional's caseload in one agency (another agency's is 404)."""
    return board.agency_caseload(rt, db, Actor.client(who), log, agency_id, lead_professional_ref)


def _case(rt: Runtime, case: Any) -> dict[str, Any]:
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/allocation", tags=["moves"], response_model=CaseView, responses=MOVES)
def allocate(case_id: uuid.UUID, body: AllocationRequest, rt: RuntimeDep, db: WriterDep,
             who: Coordinator) -> dict[str, Any]:
    """The case's lead agency and professional, at `allocated_at` (default: now; not in the future, not
    before the case started)."""
    return _case(rt, moves.allocate(rt, db, Actor.client(who), case_id, body))


@router.post("/v1/cases/{case_id}/offer", tags=["moves"], response_model=CaseView, responses=MOVES)
def record_offer(case_id: uuid.UUID, body: OfferRequest, rt: RuntimeDep, db: WriterDep,
                 who: Agency) -> dict[str, Any]:
    return _case(rt, moves.record_offer(rt, db, Actor.client(who), case_id, body))


@router.post("/v1/cases/{case_id}/answer", tags=["moves"], response_model=CaseView, responses=MOVES)
def record_answer(case_id: uuid.UUID, body: AnswerRequest, rt: RuntimeDep, db: WriterDep,
                  who: Agency) -> dict[str, Any]:
    return _case(rt, moves.record_answer(rt, db, Actor.client(who), case_id, body))


@router.post("/v1/cases/{case_id}/step-up", tags=["moves"], response_model=CaseView, responses=MOVES)
def step_up(case_id: uuid.UUID, rt: RuntimeDep, db: WriterDep, who: Agency,
            body: StepUpRequest | None = None) -> dict[str, Any]:
    """Social care has taken the family, at `stepped_up_at` (default: now; not in the future, not before the
    case started). The body is optional."""
    return _case(rt, moves.step_up(rt, db, Actor.client(who), case_id, body))


@router.post("/v1/cases/{case_id}/closure", tags=["moves"], response_model=CaseView, responses=MOVES)
def close_case(case_id: uuid.UUID, body: ClosureRequest, rt: RuntimeDep, db: WriterDep,
               who: Agency) -> dict[str, Any]:
    """The lead agency closes the case with an outcome category: an accepted offer with any; a declined one as
    no change, resolved by information and advice, or escalated; before an answer only as resolved by
    information and advice (409 otherwise, and once closed)."""
    return _case(rt, moves.close(rt, db, Actor.client(who), case_id, body))


@router.get("/v1/agencies/leads", tags=["board"], response_model=Leads, responses=READS)
def lead_agencies(db: SessionDep, who: Reader) -> dict[str, Any]:
    """How many organisations of each kind have taken the lead professional role."""
    return {"lead_organisations_by_kind": store.lead_organisations_by_kind(db)}
