"""HTTP routes: the meeting agenda, the board, a case's timeline, and the
moves (allocate, record offer, record answer, step up)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlalchemy import text
from sqlmodel import Session

from frontdoor_contracts.allocation import AgencyId, StaffRef
from frontdoor_contracts.vocabulary import AgencyKind, OfferAnswer

from . import handlers, store, views
from .auth import Caller, Role, authenticate
from .domain.cases import Case, IllegalTransition
from .domain.meetings import agenda, next_meeting
from .metrics import waiting_bucket
from .runtime import Runtime

router = APIRouter()


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def session(rt: RuntimeDep) -> Iterator[Session]:
    with Session(rt.engine) as db:
        yield db


SessionDep = Annotated[Session, Depends(session)]


def caller(db: SessionDep, authorization: Annotated[str | None, Header()] = None) -> Caller:
    scheme, _, token = (authorization or "").partition(" ")
    found = authenticate(db, token.strip()) if scheme.lower() == "bearer" and token.strip() else None
    if found is None:
        raise HTTPException(401, "a valid bearer API key is required", headers={"WWW-Authenticate": "Bearer"})
    return found


def requires(role: Role) -> Any:
    def check(who: Annotated[Caller, Depends(caller)]) -> Caller:
        if not who.may(role):
            raise HTTPException(403, f"this API key lacks the {role.value} role")
        return who

    return check


Coordinator = Annotated[Caller, Depends(requires(Role.COORDINATOR))]
Agency = Annotated[Caller, Depends(requires(Role.AGENCY))]
Reader = Annotated[Caller, Depends(requires(Role.READ))]


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lead_agency_id: AgencyId
    agency_kind: AgencyKind
    lead_professional_ref: StaffRef
    at_meeting: bool = False


class OfferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    offered_at: AwareDatetime | None = None


class AnswerRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer: OfferAnswer
    answered_at: AwareDatetime | None = None


def _not_future(rt: Runtime, moment: datetime | None, field: str) -> datetime:
    now = rt.clock()
    if moment is None:
        return now
    if moment > now:
        raise HTTPException(422, [{"field": field, "reason": "in_future", "message": "cannot be in the future"}])
    return moment


def _move(rt: Runtime, db: Session, action: Any, *args: Any, **kwargs: Any) -> Case:
    try:
        case: Case = action(db, *args, **kwargs)
        db.commit()
    except handlers.CaseNotFound:
        raise HTTPException(404, "no such case") from None
    except IllegalTransition as error:
        raise HTTPException(409, str(error)) from None
    except store.StaleCase:
        raise HTTPException(409, "the case changed meanwhile; read it again and retry") from None
    except ValueError as error:  # a time before the step it follows
        raise HTTPException(422, str(error)) from None
    rt.relay.wake()
    return case


@router.get("/v1/agenda", tags=["meeting"])
def meeting_agenda(rt: RuntimeDep, db: SessionDep, who: Reader) -> dict[str, Any]:
    """The next allocations meeting: every unallocated case, most urgent first."""
    now = rt.clock()
    meeting_at = next_meeting(now, rt.meeting, rt.rules.bank_holidays)
    items = agenda(store.open_cases(db), now=now, meeting_at=meeting_at, bank_holidays=rt.rules.bank_holidays)
    return views.agenda_view(meeting_at, items, now, rt.rules.bank_holidays)


@router.get("/v1/cases", tags=["board"])
def board(rt: RuntimeDep, db: SessionDep, who: Reader) -> dict[str, Any]:
    """Every open case with days waiting and days left, overdue ones included."""
    now = rt.clock()
    return {"cases": [views.case_view(c, now, rt.rules.bank_holidays) for c in store.open_cases(db)]}


@router.get("/v1/cases/{case_id}", tags=["board"])
def case_timeline(case_id: uuid.UUID, rt: RuntimeDep, db: SessionDep, who: Reader) -> dict[str, Any]:
    case = store.get_case(db, case_id)
    if case is None:
        raise HTTPException(404, "no such case")
    return {**views.case_view(case, rt.clock(), rt.rules.bank_holidays),
            "timeline": views.timeline_view(store.timeline(db, case_id))}


@router.post("/v1/cases/{case_id}/allocation", tags=["moves"])
def allocate(case_id: uuid.UUID, body: AllocationRequest, rt: RuntimeDep, db: SessionDep,
             who: Coordinator) -> dict[str, Any]:
    case = _move(rt, db, handlers.allocate, case_id, rt.rules, rt.clock(), lead_agency_id=body.lead_agency_id,
                 agency_kind=body.agency_kind, lead_professional_ref=body.lead_professional_ref,
                 allocated_by=who.name, at_meeting=body.at_meeting)
    rt.metrics.allocated.labels(body.agency_kind.value).inc()
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/offer", tags=["moves"])
def record_offer(case_id: uuid.UUID, body: OfferRequest, rt: RuntimeDep, db: SessionDep,
                 who: Agency) -> dict[str, Any]:
    offered_at = _not_future(rt, body.offered_at, "offered_at")
    case = _move(rt, db, handlers.record_offer, case_id, rt.rules, offered_at, rt.clock())
    days = case.days_taken(rt.rules.bank_holidays)
    if days is not None:
        rt.metrics.spa_to_offer_days.observe(days)
    rt.metrics.offers.labels(str(bool(case.within_target)).lower()).inc()
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/answer", tags=["moves"])
def record_answer(case_id: uuid.UUID, body: AnswerRequest, rt: RuntimeDep, db: SessionDep,
                  who: Agency) -> dict[str, Any]:
    answered_at = _not_future(rt, body.answered_at, "answered_at")
    case = _move(rt, db, handlers.record_answer, case_id, rt.rules, body.answer, answered_at, rt.clock())
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.post("/v1/cases/{case_id}/step-up", tags=["moves"])
def step_up(case_id: uuid.UUID, rt: RuntimeDep, db: SessionDep, who: Agency) -> dict[str, Any]:
    case = _move(rt, db, handlers.step_up, case_id, rt.rules, who.name, rt.clock())
    return views.case_view(case, rt.clock(), rt.rules.bank_holidays)


@router.get("/v1/agencies/leads", tags=["board"])
def lead_agencies(db: SessionDep, who: Reader) -> dict[str, Any]:
    """How many organisations of each kind have taken the lead professional role."""
    return {"lead_organisations_by_kind": store.lead_organisations_by_kind(db)}


@router.get("/healthz", tags=["ops"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", tags=["ops"])
def readyz(rt: RuntimeDep, db: SessionDep) -> JSONResponse:
    checks = {"database": True, "broker": rt.publisher.connected, "outbox": rt.relay.healthy,
              "consumer": rt.consumer.running or not rt.settings.run_consumer}
    try:
        db.exec(text("SELECT 1"))  # type: ignore[call-overload]
    except Exception:
        checks["database"] = False
    ready = all(checks.values())
    return JSONResponse(status_code=200 if ready else 503, content={"ready": ready, "checks": checks})


@router.get("/metrics", tags=["ops"])
def metrics(rt: RuntimeDep, db: SessionDep) -> Response:
    now = rt.clock()
    counts: dict[str, int] = {}
    overdue = 0
    for case in (c for c in store.open_cases(db) if c.awaiting_offer):
        bucket = waiting_bucket(case.days_waiting(now, rt.rules.bank_holidays))
        counts[bucket] = counts.get(bucket, 0) + 1
        overdue += case.is_overdue(now)
    rt.metrics.open_cases.clear()
    for bucket, count in counts.items():
        rt.metrics.open_cases.labels(bucket).set(count)
    rt.metrics.overdue_cases.set(overdue)
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
