"""HTTP routes: the meeting agenda, the board, a case's timeline, and the
moves (allocate, record offer, record answer, step up, close), each audited
in its own transaction (who: the key; the case's status before and after,
with what the body said); the audit trail and the read log for the admin
role. The agenda, the board and a case are in the read log (the key, the
cases and families by id, the route) before they are answered. The routes are
plain functions: FastAPI runs them in worker threads, off the event loop."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlmodel import Session

from frontdoor_contracts.allocation import AgencyId, StaffRef
from frontdoor_contracts.errors import FieldError
from frontdoor_contracts.vocabulary import AgencyKind, ClosureOutcome, OfferAnswer
from frontdoor_platform import audit, audit_read, reads, reads_route
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, WriteSession, app_runtime, requires, requires_any
from frontdoor_platform.problems import ProblemError, problem_responses

from . import handlers, store, views
from .access import Role, acting_agency, audit_trail
from .domain.cases import Case, TooEarly
from .domain.meetings import agenda, next_meeting
from .domain.transitions import IllegalTransition
from .models import AuditEntry, ReadEntry
from .responses import Agenda, Board, CaseView, CaseWithTimeline, Leads
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


def _shown(log: reads.Reads, db: Session, cases: list[dict[str, Any]]) -> None:
    """The cases (and their families) in the read log before they are answered (503 if they cannot be)."""
    log.shown_from_thread(db, [record for c in cases for record in (
        reads.record_of("case", c["case_id"]), reads.record_of("family", c["family_id"]))])


def _agency_of(who: Caller, reading: bool) -> str | None:
    try:
        return acting_agency(who.roles, who.scope, reading=reading)
    except PermissionError as error:
        raise ProblemError(403, str(error)) from None


def _visible(case: Case | None, agency: str | None) -> Case:
    """The case, if the caller may see it; 404 otherwise (ids are not confirmed)."""
    if case is None or (agency is not None and (case.allocation is None or case.allocation.lead_agency_id != agency)):
        raise ProblemError(404, "no such case")
    return case


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_agency_id: AgencyId
    agency_kind: AgencyKind
    lead_professional_ref: StaffRef
    at_meeting: bool = False
    allocated_at: AwareDatetime | None = None


class StepUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stepped_up_at: AwareDatetime | None = None


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offered_at: AwareDatetime | None = None


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: OfferAnswer
    answered_at: AwareDatetime | None = None


class ClosureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: ClosureOutcome
    closed_at: AwareDatetime | None = None


def _not_future(rt: Runtime, moment: datetime | None, field: str) -> datetime:
    now = rt.clock()
    if moment is None:
        return now
    if moment > now:
        raise ProblemError(422, "the request is not valid", [FieldError(field, "in_future", "cannot be in the future")])
    return moment


def _move(rt: Runtime, db: Session, who: Caller, done: tuple[str, BaseModel | None], action: Any,
          case_id: uuid.UUID, *args: Any, **kwargs: Any) -> Case:
    """Apply `action` to the case and audit it as `done` (the action code, the body) in one transaction."""
    # The case's row held until the commit: a move racing another (or a trigger, or a merge) waits for it and
    # is judged on what it left (a move it no longer allows is 409), so no update is lost.
    before = _visible(store.get_case(db, case_id, lock=True), _agency_of(who, reading=False))
    try:
        case: Case = action(db, case_id, *args, **kwargs)
        code, body = done
        audit_trail(rt.settings.source_uri).record(
            db, audit.client_actor(who), f"case.{code}", f"case:{case_id}", {"status": before.status.value},
            {"status": case.status.value, **(body.model_dump(mode="json") if body else {})}, rt.clock())
        db.commit()
    except handlers.CaseNotFound:
        raise ProblemError(404, "no such case") from None
    except IllegalTransition as error:
        raise ProblemError(409, str(error)) from None
    except store.StaleCase:
        raise ProblemError(409, "the case changed meanwhile; read it again and retry") from None
    except TooEarly as error:  # a time before the step it follows
        raise ProblemError(422, str(error), [FieldError(error.field, "before_previous_move",
                                                        f"cannot be before {error.than}")]) from None
    except ValueError as error:  # a time without a zone
        raise ProblemError(422, str(error)) from None
    rt.relay.wake()
    return case


@router.get("/v1/agenda", tags=["meeting"], response_model=Agenda, responses=LOGGED)
def meeting_agenda(rt: RuntimeDep, db: SessionDep, who: Reader, log: ReadLog) -> dict[str, Any]:
    """The next allocations meeting: every unallocated case, most urgent first."""
    now = rt.clock()
    meeting_at = next_meeting(now, rt.meeting, rt.rules.bank_holidays)
    items = agenda(store.open_cases(db), now=now, meeting_at=meeting_at, bank_holidays=rt.rules.bank_holidays)
    shown = views.agenda_view(meeting_at, items, now, rt.rules.bank_holidays)
    _shown(log, db, shown["cases"])
    return shown


@router.get("/v1/cases", tags=["board"], response_model=Board, responses=LOGGED)
def board(rt: RuntimeDep, db: SessionDep, who: BoardReader, log: ReadLog,
          family_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Every open case with days waiting and days left, overdue ones included
    (an agency sees the cases allocated to it); with `family_id`, only that family's open case (the family it
    was merged into, if it was), without reading the whole board."""
    now = rt.clock()
    agency = _agency_of(who, reading=True)
    found = store.open_cases(db) if family_id is None else store.open_family_cases(db, family_id)
    cases = [c for c in found
             if agency is None or (c.allocation is not None and c.allocation.lead_agency_id == agency)]
    shown = [views.case_view(c, now, rt.rules.bank_holidays) for c in cases]
    _shown(log, db, shown)
    return {"cases": shown}


@router.get("/v1/cases/{case_id}", tags=["board"], response_model=CaseWithTimeline,
            responses=problem_responses(401, 403, 404, 422, 503))
def case_timeline(case_id: uuid.UUID, rt: RuntimeDep, db: SessionDep, who: BoardReader,
                  log: ReadLog) -> dict[str, Any]:
    case = _visible(store.get_case(db, case_id), _agency_of(who, reading=True))
    shown = {**views.case_view(case, rt.clock(), rt.rules.bank_holidays),
             "timeline": views.timeline_view(store.timeline(db, case_id))}
    _shown(log, db, [shown])
    return shown


@router.post("/v1/cases/{case_id}/allocation", tags=["moves"], response_model=CaseView, responses=MOVES)
def allocate(case_id: uuid.UUID, body: AllocationRequest, rt: RuntimeDep, db: WriterDep,
             who: Coordinator) -> dict[str, Any]:
    """The case's lead agency and professional, at `allocated_at` (default: now; not in the future, not
    before the case started)."""
    allocated_at = _not_future(rt, body.allocated_at, "allocated_at")
    case = _move(rt, db, who, ("allocated", body), handlers.allocate, case_id, rt.rules, allocated_at,
                 lead_agency_id=body.lead_agency_id, agency_kind=body.agency_kind,
                 lead_professional_ref=body.lead_professional_ref, allocated_by=who.name, at_meeting=body.at_meeting,
                 now=rt.clock())
    rt.metrics.allocated.labels(body.agency_kind.value).inc()
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/offer", tags=["moves"], response_model=CaseView, responses=MOVES)
def record_offer(case_id: uuid.UUID, body: OfferRequest, rt: RuntimeDep, db: WriterDep,
                 who: Agency) -> dict[str, Any]:
    offered_at = _not_future(rt, body.offered_at, "offered_at")
    case = _move(rt, db, who, ("offer_recorded", body), handlers.record_offer, case_id, rt.rules, offered_at,
                 rt.clock(), who.name)
    days = case.days_taken(rt.rules.bank_holidays)
    if days is not None:
        rt.metrics.spa_to_offer_days.observe(days)
    rt.metrics.offers.labels(str(bool(case.within_target)).lower()).inc()
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/answer", tags=["moves"], response_model=CaseView, responses=MOVES)
def record_answer(case_id: uuid.UUID, body: AnswerRequest, rt: RuntimeDep, db: WriterDep,
                  who: Agency) -> dict[str, Any]:
    answered_at = _not_future(rt, body.answered_at, "answered_at")
    case = _move(rt, db, who, ("answer_recorded", body), handlers.record_answer, case_id, rt.rules, body.answer,
                 answered_at, rt.clock(), who.name)
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/step-up", tags=["moves"], response_model=CaseView, responses=MOVES)
def step_up(case_id: uuid.UUID, rt: RuntimeDep, db: WriterDep, who: Agency,
            body: StepUpRequest | None = None) -> dict[str, Any]:
    """Social care has taken the family, at `stepped_up_at` (default: now; not in the future, not before the
    case started). The body is optional."""
    stepped_up_at = _not_future(rt, body.stepped_up_at if body else None, "stepped_up_at")
    case = _move(rt, db, who, ("stepped_up", body), handlers.step_up, case_id, rt.rules, who.name, stepped_up_at,
                 rt.clock())
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/closure", tags=["moves"], response_model=CaseView, responses=MOVES)
def close_case(case_id: uuid.UUID, body: ClosureRequest, rt: RuntimeDep, db: WriterDep,
               who: Agency) -> dict[str, Any]:
    """The lead agency closes the case with an outcome category: an accepted offer with any; a declined one as
    no change, resolved by information and advice, or escalated; before an answer only as resolved by
    information and advice (409 otherwise, and once closed)."""
    closed_at = _not_future(rt, body.closed_at, "closed_at")
    case = _move(rt, db, who, ("closed", body), handlers.close, case_id, rt.rules, body.outcome, closed_at,
                 rt.clock(), who.name)
    rt.metrics.cases_closed.labels(body.outcome.value).inc()
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.get("/v1/agencies/leads", tags=["board"], response_model=Leads, responses=READS)
def lead_agencies(db: SessionDep, who: Reader) -> dict[str, Any]:
    """How many organisations of each kind have taken the lead professional role."""
    return {"lead_organisations_by_kind": store.lead_organisations_by_kind(db)}
