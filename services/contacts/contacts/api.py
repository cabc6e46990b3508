"""HTTP routes: decode, call the store or the publisher, answer."""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, cast

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent, validate_data
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import Decision, LevelOfNeed
from frontdoor_platform.kafka import BrokerUnavailable

from . import store, views
from .auth import Caller, Role, authenticate
from .consumer import api_source
from .handlers import DECISION_CLOCK_SKEW
from .models import Contact, IdempotencyRecord, MashDecision
from .runtime import Runtime

router = APIRouter()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


def runtime(request: Request) -> Runtime:
    rt: Runtime = request.app.state.runtime
    return rt


RuntimeDep = Annotated[Runtime, Depends(runtime)]


def session(rt: RuntimeDep) -> Any:
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
    def check(who: Annotated[Caller, Depends(caller)], rt: RuntimeDep) -> Caller:
        if role not in who.roles:
            rt.metrics.api_rejections.labels("403").inc()
            raise HTTPException(403, f"this API key lacks the {role.value} role")
        return who

    return check


Intake = Annotated[Caller, Depends(requires(Role.INTAKE))]
Decider = Annotated[Caller, Depends(requires(Role.DECIDE))]
Reader = Annotated[Caller, Depends(requires(Role.READ))]


def invalid(error: InvalidEvent, rt: Runtime) -> JSONResponse:
    rt.metrics.api_rejections.labels("422").inc()
    return JSONResponse(status_code=422, content={"detail": [e.as_dict() for e in error.errors]})


async def read_json(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidEvent("not_json", []) from None


def accepted(contact_id: uuid.UUID) -> JSONResponse:
    return JSONResponse(status_code=202, content={"contact_id": str(contact_id), "status": "accepted"},
                        headers={"Location": f"/v1/contacts/{contact_id}"})


async def publish(rt: Runtime, topic: str, key: str, event: Any) -> None:
    try:
        await rt.publisher.publish(topic, key, event.model_dump_json().encode())
    except BrokerUnavailable:
        rt.metrics.api_rejections.labels("503").inc()
        raise HTTPException(503, "the event broker is unavailable; retry later", headers={"Retry-After": "5"}) \
            from None


def event_id_for(who: Caller, scope: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(who.client_id, f"{scope}\n{idempotency_key}"))


@router.post("/v1/contacts", status_code=202, tags=["intake"])
async def submit_contact(
    request: Request, rt: RuntimeDep, db: SessionDep, who: Intake, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Submit a contact (the `ContactSubmitted` payload). 202 once the broker has it."""
    try:
        contact = cast(ContactSubmitted, validate_data(await read_json(request), ContactSubmitted))
    except InvalidEvent as error:
        if not error.errors:
            error.errors.append(views.not_json_error())
        return invalid(error, rt)
    body_hash = hashlib.sha256(contact.model_dump_json().encode()).hexdigest()
    event_id = event_id_for(who, "contact", idempotency_key)
    contact_id = contact_id_for(api_source(rt.settings), event_id)
    if idempotency_key is not None:
        claim_idempotency_key(db, who, idempotency_key, body_hash, contact_id)
    event = new_event(contact, source=api_source(rt.settings), event_id=event_id,
                      traceparent=request.headers.get("traceparent"))
    await publish(rt, FRONTDOOR_CONTACTS.name, str(contact_id), event)
    return accepted(contact_id)


def claim_idempotency_key(db: Session, who: Caller, key: str, body_hash: str, contact_id: uuid.UUID) -> None:
    """Bind the key to this body before publishing, so a different body can
    never ride on it (a concurrent duplicate loses the insert and is compared)."""
    record = store.idempotency_record(db, who.client_id, key)
    if record is None:
        try:
            db.add(IdempotencyRecord(client_id=who.client_id, key=key, request_hash=body_hash,
                                     contact_id=contact_id, created_at=datetime.now(UTC)))
            db.commit()
            return
        except IntegrityError:
            db.rollback()
            record = store.idempotency_record(db, who.client_id, key)
    if record is not None and record.request_hash != body_hash:
        raise HTTPException(409, "Idempotency-Key was used before with a different body")


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    level_of_need: LevelOfNeed
    rationale: str = Field(min_length=1, max_length=4000)
    decided_by: str = Field(min_length=1, max_length=100)
    decided_at: AwareDatetime | None = None


@router.post("/v1/contacts/{contact_id}/decision", status_code=202, tags=["decisions"])
async def decide(
    contact_id: uuid.UUID, request: Request, rt: RuntimeDep, db: SessionDep,
    who: Decider, idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Record the MASH decision on a contact (published on frontdoor.decisions.v1)."""
    try:
        body = cast(DecisionRequest, validate_data(await read_json(request), DecisionRequest))
        decision = cast(DecisionSubmitted, validate_data(
            {**body.model_dump(), "contact_id": contact_id, "decided_at": body.decided_at or datetime.now(UTC)},
            DecisionSubmitted,
        ))
    except InvalidEvent as error:
        if not error.errors:
            error.errors.append(views.not_json_error())
        return invalid(error, rt)
    if decision.decided_at > datetime.now(UTC) + DECISION_CLOCK_SKEW:
        return invalid(InvalidEvent("invalid_data", [FieldError("decided_at", "in_future",
                                                                "a decision cannot be in the future")]), rt)
    if db.get(Contact, contact_id) is None:
        raise HTTPException(404, "no such contact (it may still be being recorded: retry shortly)")
    if db.get(MashDecision, contact_id) is not None:
        raise HTTPException(409, "this contact already has a decision")
    event = new_event(decision, source=api_source(rt.settings), subject=str(contact_id),
                      event_id=event_id_for(who, f"decision:{contact_id}", idempotency_key),
                      traceparent=request.headers.get("traceparent"))
    await publish(rt, FRONTDOOR_DECISIONS.name, str(contact_id), event)
    return accepted(contact_id)


@router.get("/v1/contacts/{contact_id}", tags=["reads"])
def get_contact(contact_id: uuid.UUID, db: SessionDep, who: Reader) -> dict[str, Any]:
    contact = db.get(Contact, contact_id)
    if contact is None:
        raise HTTPException(404, "no such contact")
    return views.contact_view(contact, store.contact_people(db, contact_id), db.get(MashDecision, contact_id))


@router.get("/v1/children/{child_id}/contacts", tags=["reads"])
def child_contacts(child_id: uuid.UUID, db: SessionDep, who: Reader) -> dict[str, Any]:
    rows = store.contacts_for_child(db, child_id)
    if not rows:
        raise HTTPException(404, "no contacts for this child")
    return {"child_id": str(child_id), "contacts": [views.contact_summary(c, d) for c, d in rows]}


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
def metrics(rt: RuntimeDep) -> Response:
    return Response(generate_latest(rt.metrics.registry), media_type=CONTENT_TYPE_LATEST)
