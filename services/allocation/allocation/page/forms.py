"""The board's forms (POST), each a move on a case through `moves.py`, the
API's own code path (the same roles, rules, events, audit entry and read of
who may see the case): the coordinator allocates a case to an agency and a
lead professional; an agency's staff record the offer, the family's answer,
a step up, and the closure with its outcome.

Every form carries the session's CSRF token (`PAGES.signed_in_with_csrf`:
without it, a 403 page and nothing done). A move done goes back to the case
with a fixed message (`?done=`); a refusal is a page saying what to do,
naming a field and its rule, never what the form said. A move's time is
when it is recorded (the API takes a business time; the page records now)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError

from frontdoor_platform.http import WriteSession
from frontdoor_platform.problems import ProblemError

from .. import moves
from ..moves import AllocationRequest, AnswerRequest, ClosureRequest, OfferRequest
from .pages import PAGES, RuntimeDep, SignedInForm, actor, answer, invalid

router = APIRouter(prefix=PAGES.prefix, include_in_schema=False)
Field = Annotated[str, Form()]  # any length: the request's model refuses what is not valid, as a page


def _case_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ProblemError(404) from None


def _request(model: type[BaseModel], **fields: Any) -> Any:
    try:
        return model.model_validate(fields)
    except ValidationError as error:
        raise invalid(error) from None


def _moved(request: Request, staff: Any, case_id: str, done: str, move: Callable[[uuid.UUID], object]) -> Response:
    def work() -> Response:
        case = _case_id(case_id)
        move(case)
        return PAGES.redirect(f"{PAGES.prefix}/cases/{case}?done={done}")

    return answer(request, staff, work)


@router.post("/cases/{case_id}/allocate")
def allocate(case_id: str, request: Request, staff: SignedInForm, rt: RuntimeDep, db: WriteSession,
             lead_agency_id: Field = "", agency_kind: Field = "", lead_professional_ref: Field = "",
             at_meeting: Field = "") -> Response:
    def move(case: uuid.UUID) -> object:
        body = _request(AllocationRequest, lead_agency_id=lead_agency_id.strip(), agency_kind=agency_kind,
                        lead_professional_ref=lead_professional_ref.strip(), at_meeting=at_meeting == "yes")
        return moves.allocate(rt, db, actor(staff), case, body)

    return _moved(request, staff, case_id, "allocated", move)


@router.post("/cases/{case_id}/offer")
def record_offer(case_id: str, request: Request, staff: SignedInForm, rt: RuntimeDep, db: WriteSession) -> Response:
    return _moved(request, staff, case_id, "offer-recorded",
                  lambda case: moves.record_offer(rt, db, actor(staff), case, OfferRequest()))


@router.post("/cases/{case_id}/answer")
def record_answer(case_id: str, request: Request, staff: SignedInForm, rt: RuntimeDep, db: WriteSession,
                  answer_given: Annotated[str, Form(alias="answer")] = "") -> Response:
    def move(case: uuid.UUID) -> object:
        return moves.record_answer(rt, db, actor(staff), case, _request(AnswerRequest, answer=answer_given))

    return _moved(request, staff, case_id, "answer-recorded", move)


@router.post("/cases/{case_id}/step-up")
def step_up(case_id: str, request: Request, staff: SignedInForm, rt: RuntimeDep, db: WriteSession) -> Response:
    return _moved(request, staff, case_id, "stepped-up", lambda case: moves.step_up(rt, db, actor(staff), case, None))


@router.post("/cases/{case_id}/close")
def close(case_id: str, request: Request, staff: SignedInForm, rt: RuntimeDep, db: WriteSession,
          outcome: Field = "") -> Response:
    def move(case: uuid.UUID) -> object:
        return moves.close(rt, db, actor(staff), case, _request(ClosureRequest, outcome=outcome))

    return _moved(request, staff, case_id, "closed", move)
