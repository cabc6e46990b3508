"""HTTP routes: decode, call the store or the publisher, answer. Database
work runs in worker threads; no session is held while the broker is awaited.

A contact is refused (403, naming the field) when it claims a referrer
source its key does not name, or, from a school's key, names a child at
another school; a decision's source (`recorded_by`) is its key, never the
body. Each contact and decision the broker took is audited (actor: the
key) once, however often it is retried with the same Idempotency-Key.
Each read is in the read log (the key, the contact, its family and people,
the route) before it is answered; 503 when it cannot be (`reads`)."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Request, Response
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from frontdoor_contracts.contacts import ContactSubmitted, DecisionSubmitted, contact_id_for
from frontdoor_contracts.envelope import TRACEPARENT_PATTERN, encode_event, new_event
from frontdoor_contracts.errors import FieldError, InvalidEvent, validate_data
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_contracts.vocabulary import Decision, LevelOfNeed
from frontdoor_platform import audit, audit_read, reads, reads_route
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import ReadSession, app_runtime, in_thread, requires
from frontdoor_platform.kafka import CLOUDEVENTS_CONTENT_TYPE, BrokerUnavailable, RecordRefused
from frontdoor_platform.problems import ProblemError, problem_responses

from . import store, views
from .access import Role, audit_trail, school_of
from .handlers import DECISION_CLOCK_SKEW, decision_key
from .models import AuditEntry, Contact, IdempotencyRecord, MashDecision, ReadEntry
from .responses import ChildContacts, ContactView
from .runtime import Runtime

router = APIRouter()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
TraceParent = Annotated[str | None, Header(alias="traceparent", pattern=TRACEPARENT_PATTERN,
                                           description="W3C trace context, carried onto the event")]
RETRY_AFTER = {"Retry-After": "5"}
NOT_TAKEN = ("the event broker is unavailable and did not take it: nothing was recorded; retry after Retry-After "
             "with the same Idempotency-Key")
MAYBE_TAKEN = ("the event broker did not answer in time: it may have been recorded; retry with the same "
               "Idempotency-Key, it is recorded once (without one, a retry is a new submission)")
NEVER_TAKEN = "the event broker can never take this as it is: nothing was recorded (a retry would not help)"
NOT_AUDITED = ("it was recorded, but its audit entry could not be written now: retry after Retry-After with the same "
               "Idempotency-Key (recorded once, audited once)")
AUDIT_NAMESPACE = uuid.UUID("5f0b8e4c-2a61-4d3e-9b7f-1c8d2e6a4f93")
log = logging.getLogger("contacts.api")
_late: set[asyncio.Task[None]] = set()  # publishes answered 503 that still wait for the broker's verdict


RuntimeDep = Annotated[Runtime, Depends(app_runtime)]


SessionDep = ReadSession
Intake = Annotated[Caller, Depends(requires(Role.INTAKE))]
Decider = Annotated[Caller, Depends(requires(Role.DECIDE))]
Reader = Annotated[Caller, Depends(requires(Role.READ))]
ReadLog = Annotated[reads.Reads, Depends(reads.recorder(ReadEntry))]
audit_read.add_audit_route(router, AuditEntry, requires(Role.ADMIN))
reads_route.add_reads_route(router, ReadEntry, requires(Role.ADMIN))


class Accepted(BaseModel):
    contact_id: uuid.UUID
    status: Literal["accepted"] = "accepted"


class DecisionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Decision
    level_of_need: LevelOfNeed
    rationale: str = Field(min_length=1, max_length=4000)
    decided_by: str = Field(min_length=1, max_length=100)
    decided_at: AwareDatetime | None = None


def accepted(response: Response, contact_id: uuid.UUID) -> Accepted:
    response.headers["Location"] = f"/v1/contacts/{contact_id}"
    return Accepted(contact_id=contact_id)


async def publish(rt: Runtime, topic: str, key: str, payload: bytes) -> None:
    """Return once the broker has the event (`payload`, encoded in structured
    mode); else 503 with Retry-After, at once when the broker did not take it
    (nothing was written), or after `broker_answer_seconds` without its verdict. The record may then still
    be in the producer's buffer and be written later (frontdoor_platform.
    kafka never gives one up), so that 503 says "may have been recorded": a
    retry with the same Idempotency-Key carries the same event id, which the
    consumer records once. The publish itself is never cancelled. A record
    that can never be published is 413 or 422 (`_refusal`), never a 503."""
    sending = asyncio.create_task(rt.publisher.publish(topic, key, payload, [CLOUDEVENTS_CONTENT_TYPE]))
    try:
        async with asyncio.timeout(rt.settings.broker_answer_seconds):
            await asyncio.shield(sending)
    except TimeoutError:
        raise ProblemError(503, MAYBE_TAKEN, headers=RETRY_AFTER) from None
    except BrokerUnavailable:
        raise ProblemError(503, NOT_TAKEN, headers=RETRY_AFTER) from None
    except RecordRefused as refused:
        raise _refusal(refused) from None
    finally:
        if not sending.done():
            _late.add(sending)
            sending.add_done_callback(_settled)


def _refusal(refused: RecordRefused) -> ProblemError:
    """A record that can never be published: a retry would not help, so not a 503. Too large is the body's
    doing (413); any other refusal (the broker's verdict on the record, or a topic it lacks) is logged by its
    bounded reason and answered 422: nothing was recorded."""
    if refused.reason == "record_too_large":
        return ProblemError(413, NEVER_TAKEN, [FieldError("", "record_too_large", "the event this body makes is "
                                                                                  "over the broker's record limit")])
    log.error("the broker refuses a record for good", extra={"reason": refused.reason})
    return ProblemError(422, NEVER_TAKEN, [FieldError("", "record_refused", "the event broker refuses this record")])


def _settled(sending: asyncio.Task[None]) -> None:
    """The verdict on a publish answered 503 before it came (its type only: no personal data)."""
    _late.discard(sending)
    error = None if sending.cancelled() else sending.exception()
    log.warning("a publish answered 503 while waiting for the broker has its verdict",
                extra={"written": error is None and not sending.cancelled(),
                       "error": type(error).__name__ if error else None})


def check_claims(who: Caller, contact: ContactSubmitted) -> None:
    """403 unless the key may claim the contact's referrer source and, for a school's key, every child whose
    school is named is at that school (a child with none named, a sibling not at school, is the school's to
    refer). The error names the field, never the value."""
    if not who.may_claim(contact.referrer_source.value):
        raise ProblemError(403, "this API key may not claim this referrer source", [FieldError(
            "referrer_source", "not_permitted", "the key names the referrer sources its holder may claim")])
    school = school_of(who.sources, who.scope)
    for index, child in enumerate(contact.children):
        if school is not None and child.school_urn is not None and child.school_urn != school:
            raise ProblemError(403, "a school's key submits contacts about its own pupils", [FieldError(
                f"children[{index}].school_urn", "not_permitted", "must be the key's school")])


def audit_writer(request: Request) -> audit.GroupCommit:
    """The app's audit writer, made on first use (it groups the entries of concurrent requests)."""
    writer = getattr(request.app.state, "audit_writer", None)
    if writer is None:
        rt: Runtime = request.app.state.runtime
        writer = request.app.state.audit_writer = audit.GroupCommit(rt.engine, audit_trail(rt.settings.source_uri))
    return writer


AuditWriter = Annotated[audit.GroupCommit, Depends(audit_writer)]


async def audited(rt: Runtime, writer: audit.GroupCommit, who: Caller, action: str, target: str,
                  after: dict[str, Any], key: str) -> None:
    """Audit what the broker took, once per `key` (a retry with the same Idempotency-Key finds it); when
    it cannot be written, 503: retrying with the same key writes it and records the change once."""
    try:
        await writer.record(audit.Entry(audit.client_actor(who), action, target, None, after, rt.clock(),
                                        uuid.uuid5(AUDIT_NAMESPACE, key)))
    except Exception as exc:
        log.error("an audit entry could not be written", extra={"error": type(exc).__name__})
        raise ProblemError(503, NOT_AUDITED, headers=RETRY_AFTER) from None
    rt.relay.wake()


def event_id_for(who: Caller, scope: str, idempotency_key: str | None) -> str:
    if idempotency_key is None:
        return str(uuid.uuid4())
    return str(uuid.uuid5(who.client_id, f"{scope}\n{idempotency_key}"))


def claim_idempotency_key(engine: Engine, who: Caller, key: str, body_hash: str, contact_id: uuid.UUID,
                          now: datetime) -> None:
    """Bind the key to this body before publishing, so a different body can
    never ride on it (a concurrent duplicate loses the insert and is compared)."""
    with Session(for_writing(engine)) as db:
        record = store.idempotency_record(db, who.client_id, key)
        if record is None:
            try:
                db.add(IdempotencyRecord(client_id=who.client_id, key=key, request_hash=body_hash,
                                         contact_id=contact_id, created_at=now))
                db.commit()
                return
            except IntegrityError:
                db.rollback()
                record = store.idempotency_record(db, who.client_id, key)
        if record is not None and record.request_hash != body_hash:
            raise ProblemError(409, "Idempotency-Key was used before with a different body")


@router.post("/v1/contacts", status_code=202, tags=["intake"], response_model=Accepted,
             responses=problem_responses(401, 403, 409, 413, 422, 503))
async def submit_contact(contact: ContactSubmitted, response: Response, rt: RuntimeDep, who: Intake,
                         writer: AuditWriter, idempotency_key: IdempotencyKey = None,
                         traceparent: TraceParent = None) -> Accepted:
    """Submit a contact. 202 once the broker has it; 503 (with Retry-After)
    when it was not taken, or when the broker did not answer in time (then
    it may have been recorded): retry with the same Idempotency-Key, and it
    is recorded once. 403 naming the field when the key may not claim its
    referrer source, or a school's key names a child at another school."""
    check_claims(who, contact)
    async with rt.gate.admit():
        event_id = event_id_for(who, "contact", idempotency_key)
        source = rt.settings.api_source_of(who.name)
        contact_id = contact_id_for(source, event_id)
        if idempotency_key is not None:
            body_hash = hashlib.sha256(contact.model_dump_json().encode()).hexdigest()
            await in_thread(claim_idempotency_key, rt.engine, who, idempotency_key, body_hash, contact_id, rt.clock())
        payload = encode_event(new_event(contact, source=source, event_id=event_id, traceparent=traceparent))
        await publish(rt, FRONTDOOR_CONTACTS.name, str(contact_id), payload)
        claimed = {"referrer_source": contact.referrer_source.value, "da_incident": contact.da_incident is not None}
        await audited(rt, writer, who, "contact.submitted", f"contact:{contact_id}", claimed,
                      f"contact\n{source}\n{event_id}")
    return accepted(response, contact_id)


def _decision_state(engine: Engine, contact_id: uuid.UUID) -> tuple[bool, str | None]:
    """Is the contact known, and the key of the decision it has (None: none yet)."""
    with Session(engine) as db:
        decided = db.get(MashDecision, contact_id)
        return db.get(Contact, contact_id) is not None, decided.event_id if decided is not None else None


@router.post("/v1/contacts/{contact_id}/decision", status_code=202, tags=["decisions"], response_model=Accepted,
             responses=problem_responses(401, 403, 404, 409, 413, 422, 503))
async def decide(contact_id: uuid.UUID, body: DecisionRequest, response: Response, rt: RuntimeDep, who: Decider,
                 writer: AuditWriter, idempotency_key: IdempotencyKey = None,
                 traceparent: TraceParent = None) -> Accepted:
    """Record the MASH decision on a contact (published on frontdoor.decisions.v1). Its source, and so the
    `recorded_by` it is read back with, is the key's, whatever `decided_by` (the person's staff reference) says.
    503 as for contacts; a retry with the same Idempotency-Key of a decision recorded meanwhile is 202, not 409."""
    now = rt.clock()
    decision = validate_data({**body.model_dump(), "contact_id": contact_id, "decided_at": body.decided_at or now},
                             DecisionSubmitted)
    assert isinstance(decision, DecisionSubmitted)
    if decision.decided_at > now + DECISION_CLOCK_SKEW:
        raise InvalidEvent("invalid_data", [FieldError("decided_at", "in_future",
                                                       "a decision cannot be in the future")])
    async with rt.gate.admit():
        if idempotency_key is not None:  # bound to this body, as for contacts (a different body: 409)
            scoped = f"decision:{contact_id}:{hashlib.sha256(idempotency_key.encode()).hexdigest()}"
            body_hash = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
            await in_thread(claim_idempotency_key, rt.engine, who, scoped, body_hash, contact_id, now)
        event = new_event(decision, source=rt.settings.api_source_of(who.name), subject=str(contact_id),
                          event_id=event_id_for(who, f"decision:{contact_id}", idempotency_key),
                          traceparent=traceparent)
        known, recorded = await in_thread(_decision_state, rt.engine, contact_id)
        if not known:
            raise ProblemError(404, "no such contact (it may still be being recorded: retry shortly)")
        if recorded is not None and recorded != decision_key(event):
            raise ProblemError(409, "this contact already has a decision")
        if recorded is None:  # else this very decision, recorded: a retry after a 503 (audited once, below)
            await publish(rt, FRONTDOOR_DECISIONS.name, str(contact_id), encode_event(event))
        await audited(rt, writer, who, "decision.submitted", f"contact:{contact_id}",
                      {"decision": decision.decision.value}, f"decision\n{decision_key(event)}")
    return accepted(response, contact_id)


@router.get("/v1/contacts/{contact_id}", tags=["reads"], response_model=ContactView,
            responses=problem_responses(401, 403, 404, 422, 503))
def get_contact(contact_id: uuid.UUID, db: SessionDep, who: Reader, log: ReadLog) -> dict[str, Any]:
    contact = db.get(Contact, contact_id)
    if contact is None:
        raise ProblemError(404, "no such contact")
    view = views.contact_view(contact, store.contact_people(db, contact_id), db.get(MashDecision, contact_id))
    log.shown_from_thread(db, [reads.record_of("contact", contact_id), reads.record_of("family", view["family_id"]),
                               *(reads.record_of("person", p["person_id"]) for p in view["children"] + view["adults"])])
    return view


@router.get("/v1/children/{child_id}/contacts", tags=["reads"], response_model=ChildContacts,
            responses=problem_responses(401, 403, 404, 422, 503))
def child_contacts(child_id: uuid.UUID, db: SessionDep, who: Reader, log: ReadLog) -> dict[str, Any]:
    rows = store.contacts_for_child(db, child_id)
    if not rows:
        raise ProblemError(404, "no contacts for this child")
    summaries = [views.contact_summary(c, d) for c, d in rows]
    log.shown_from_thread(db, [reads.record_of("person", child_id),
                               *(reads.record_of("contact", c["contact_id"]) for c in summaries)])
    return {"child_id": str(child_id), "contacts": summaries}
