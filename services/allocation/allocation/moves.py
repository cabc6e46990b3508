"""The moves on a case (allocate, record an offer, record the family's answer,
step up, close), one code path for the API and the pages: who may make the
move (its role; an agency only on a case allocated to it, another agency's
case is 404, the same as none), the time checks (not in the future, not
before the step it follows), the handler (the domain's rules, the events in
the outbox), the audit entry (who; the status before and after, with what
the request said), one commit, the relay woken and the metrics counted. A
refusal is a `ProblemError` (403, 404, 409, 422): the API answers it as
problem+json, the pages as an error page saying what to do."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict
from sqlmodel import Session

from frontdoor_contracts.allocation import AgencyId, StaffRef
from frontdoor_contracts.errors import FieldError
from frontdoor_contracts.vocabulary import AgencyKind, ClosureOutcome, OfferAnswer
from frontdoor_platform import audit
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.problems import ProblemError

from . import handlers, store
from .access import Role, acting_agency, audit_trail, may
from .domain.cases import Case, TooEarly
from .domain.transitions import IllegalTransition
from .runtime import Runtime


@dataclass(frozen=True)
class Actor:
    """Who makes a move or reads: an API client or a signed-in member of staff."""

    actor: str
    """The audit trail's and the read log's who: `client:<name>` or `staff:<staff id>`."""
    name: str
    """What the case's events and timeline record as who allocated or recorded (a key's name, a staff id)."""
    roles: frozenset[str]
    scope: str | None = None

    @classmethod
    def client(cls, who: Caller) -> Actor:
        return cls(audit.client_actor(who), who.name, who.roles, who.scope)

    @classmethod
    def staff(cls, staff_id: str, roles: frozenset[str], scope: str | None) -> Actor:
        return cls(audit.staff_actor(staff_id), staff_id, roles, scope)


def agency_of(who: Actor, *, reading: bool) -> str | None:
    """The agency `who` is held to (None: every case); 403 for an agency account that names none."""
    try:
        return acting_agency(who.roles, who.scope, reading=reading)
    except PermissionError as error:
        raise ProblemError(403, str(error)) from None


def visible(case: Case | None, agency: str | None) -> Case:
    """The case, if the caller may see it; 404 otherwise (ids are not confirmed)."""
    if case is None or (agency is not None and (case.allocation is None or case.allocation.lead_agency_id != agency)):
        raise ProblemError(404, "no such case")
    return case


def _requires(who: Actor, role: Role) -> None:
    if not may(who.roles, role.value):
        raise ProblemError(403, f"this needs the {role.value} role")


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


def _move(rt: Runtime, db: Session, who: Actor, done: tuple[str, BaseModel | None], action: Any,
          case_id: uuid.UUID, *args: Any, **kwargs: Any) -> Case:
    """Apply `action` to the case and audit it as `done` (the action code, the body) in one transaction."""
    # The case's row held until the commit: a move racing another (or a trigger, or a merge) waits for it and
    # is judged on what it left (a move it no longer allows is 409), so no update is lost.
    before = visible(store.get_case(db, case_id, lock=True), agency_of(who, reading=False))
    try:
        case: Case = action(db, case_id, *args, **kwargs)
        code, body = done
        audit_trail(rt.settings.source_uri).record(
            db, who.actor, f"case.{code}", f"case:{case_id}", {"status": before.status.value},
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


def allocate(rt: Runtime, db: Session, who: Actor, case_id: uuid.UUID, body: AllocationRequest) -> Case:
    _requires(who, Role.COORDINATOR)
    allocated_at = _not_future(rt, body.allocated_at, "allocated_at")
    case = _move(rt, db, who, ("allocated", body), handlers.allocate, case_id, rt.rules, allocated_at,
                 lead_agency_id=body.lead_agency_id, agency_kind=body.agency_kind,
                 lead_professional_ref=body.lead_professional_ref, allocated_by=who.name, at_meeting=body.at_meeting,
                 now=rt.clock())
    rt.metrics.allocated.labels(body.agency_kind.value).inc()
    return case


def record_offer(rt: Runtime, db: Session, who: Actor, case_id: uuid.UUID, body: OfferRequest) -> Case:
    _requires(who, Role.AGENCY)
    offered_at = _not_future(rt, body.offered_at, "offered_at")
    case = _move(rt, db, who, ("offer_recorded", body), handlers.record_offer, case_id, rt.rules, offered_at,
                 rt.clock(), who.name)
    days = case.days_taken(rt.rules.bank_holidays)
    if days is not None:
        rt.metrics.spa_to_offer_days.observe(days)
    rt.metrics.offers.labels(str(bool(case.within_target)).lower()).inc()
    return case


def record_answer(rt: Runtime, db: Session, who: Actor, case_id: uuid.UUID, body: AnswerRequest) -> Case:
    _requires(who, Role.AGENCY)
    answered_at = _not_future(rt, body.answered_at, "answered_at")
    return _move(rt, db, who, ("answer_recorded", body), handlers.record_answer, case_id, rt.rules, body.answer,
                 answered_at, rt.clock(), who.name)


def step_up(rt: Runtime, db: Session, who: Actor, case_id: uuid.UUID, body: StepUpRequest | None) -> Case:
    _requires(who, Role.AGENCY)
    stepped_up_at = _not_future(rt, body.stepped_up_at if body else None, "stepped_up_at")
    return _move(rt, db, who, ("stepped_up", body), handlers.step_up, case_id, rt.rules, who.name, stepped_up_at,
                 rt.clock())


def close(rt: Runtime, db: Session, who: Actor, case_id: uuid.UUID, body: ClosureRequest) -> Case:
    _requires(who, Role.AGENCY)
    closed_at = _not_future(rt, body.closed_at, "closed_at")
    case = _move(rt, db, who, ("closed", body), handlers.close, case_id, rt.rules, body.outcome, closed_at,
                 rt.clock(), who.name)
    rt.metrics.cases_closed.labels(body.outcome.value).inc()
    return case
