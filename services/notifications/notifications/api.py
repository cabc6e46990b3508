"""HTTP routes. Admin: the school directory and agency contacts (with
signing-secret rotation) and key adults' one-time set-password codes (the
key adult sets the password on the page: the admin never knows it). School: its own
inbox and acknowledgement (another school's id is 404). MASH: delivery
status across schools and the worklist. Every change is audited in its own
transaction (who: the key; a directory entry before and after, never a
secret or password), and the admin reads the trail. The routes are plain
functions: FastAPI runs them in worker threads, off the event loop."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel
from sqlmodel import Session, col, select

from frontdoor_contracts.allocation import AgencyId, StaffRef
from frontdoor_contracts.identifiers import SchoolUrn
from frontdoor_platform import audit, audit_read
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, WriteSession, app_runtime, requires, requires_any
from frontdoor_platform.problems import ProblemError, problem_responses

from . import directory, inbox, store, views
from .access import Role, audit_trail
from .delivery import queue
from .delivery.signing import new_secret
from .models import AuditEntry, DeliveryRow, RecipientRow, WorklistRow
from .page import links
from .responses import (
    AgencyRequest,
    DeliveryDetail,
    DeliveryStatus,
    InboxItem,
    NewSecret,
    PasswordLink,
    RecipientView,
    ResolutionRequest,
    SchoolRequest,
    SchoolView,
    WorkItem,
)
from .runtime import Runtime

router = APIRouter()
READS = problem_responses(401, 403, 422)
ONE = problem_responses(401, 403, 404, 422)
WRITES = problem_responses(401, 403, 404, 409, 422)


RuntimeDep = Annotated[Runtime, Depends(app_runtime)]


SessionDep = ReadSession
WriterDep = WriteSession
Admin = Annotated[Caller, Depends(requires(Role.ADMIN))]
School = Annotated[Caller, Depends(requires(Role.SCHOOL))]
Mash = Annotated[Caller, Depends(requires(Role.MASH))]
DirectoryReader = Annotated[Caller, Depends(requires_any(Role.ADMIN, Role.MASH))]
Urn = Annotated[SchoolUrn, Path(description="The school's unique reference number (6 digits)")]
Agency = Annotated[AgencyId, Path(description="The agency's identifier")]
Limit = Annotated[int, Query(ge=1, le=1000)]
audit_read.add_read_route(router, AuditEntry, requires(Role.ADMIN))


def _audit(db: Session, rt: Runtime, who: Caller, action: str, target: str,
           before: BaseModel | dict[str, Any] | None = None, after: BaseModel | dict[str, Any] | None = None) -> None:
    """The change's audit row and event, in the route's transaction (committed with it)."""
    audit_trail(rt.settings.source_uri).record(db, audit.client_actor(who), action, target, _entry(before),
                                               _entry(after), rt.clock())


def _entry(view: BaseModel | dict[str, Any] | None) -> dict[str, Any] | None:
    return view.model_dump(mode="json") if isinstance(view, BaseModel) else view


def _urn_of(who: Caller) -> str:
    if not who.scope:
        raise ProblemError(403, "a school API key must be scoped to its school's URN")
    return who.scope


def _secrets(db: Session, rt: Runtime, recipient_id: str) -> int:
    return len(directory.signing_secrets(db, recipient_id, rt.clock()))


def _school_view(db: Session, rt: Runtime, urn: str) -> SchoolView:
    row = directory.school(db, urn)
    if row is None:
        raise ProblemError(404, "no such school in the directory")
    return views.school_view(row, directory.key_adults(db, urn), _secrets(db, rt, urn))


# --- the directory (admin; the MASH may read it to phone a school) -----------------------------------------------

@router.put("/v1/schools/{urn}", response_model=SchoolView,
            responses={**WRITES, 201: {"model": SchoolView, "description": "Created"}}, tags=["directory"])
def put_school(urn: Urn, body: SchoolRequest, rt: RuntimeDep, db: WriterDep, admin: Admin,
               response: Response) -> SchoolView:
    """Create or replace a school: name, phase, how it is told, its key adults and calendar overrides."""
    now = rt.clock()
    before = _school_view(db, rt, urn) if directory.school(db, urn) is not None else None
    try:
        created = directory.put_recipient(
            db, urn, kind=directory.SCHOOL, name=body.name, phase=body.phase, channel=body.channel,
            webhook_url=body.webhook_url, alert_email=body.alert_email,
            calendar=body.calendar.model_dump(mode="json") if body.calendar else None, now=now,
            local_webhooks=rt.settings.local_webhooks, require_second_factor=body.require_second_factor)[1]
        directory.put_key_adults(db, urn, [(a.staff_id, a.email) for a in body.key_adults], now)
        after = _school_view(db, rt, urn)
        _audit(db, rt, admin, "school.put", f"school:{urn}", before, after)
        db.commit()
    except directory.DirectoryConflict as error:
        raise ProblemError(409, str(error)) from None
    response.status_code = 201 if created else 200
    return after


@router.get("/v1/schools", response_model=list[SchoolView], responses=READS, tags=["directory"])
def list_schools(rt: RuntimeDep, db: SessionDep, _: DirectoryReader) -> list[SchoolView]:
    return [views.school_view(row, directory.key_adults(db, row.recipient_id), _secrets(db, rt, row.recipient_id))
            for row in directory.recipients(db, directory.SCHOOL)]


@router.get("/v1/schools/{urn}", response_model=SchoolView, responses=ONE, tags=["directory"])
def get_school(urn: Urn, rt: RuntimeDep, db: SessionDep, _: DirectoryReader) -> SchoolView:
    return _school_view(db, rt, urn)


def _rotate(db: Session, rt: Runtime, who: Caller, recipient_id: str, target: str) -> NewSecret:
    """A new signing secret (audited without it: when the previous one stops signing)."""
    if directory.recipient(db, recipient_id) is None:
        raise ProblemError(404, "no such recipient in the directory")
    secret = new_secret()
    until = directory.rotate_secret(db, recipient_id, secret, rt.clock(),
                                    timedelta(hours=rt.settings.secret_overlap_hours), rt.settings.sealing_keys)
    _audit(db, rt, who, f"{target.split(':')[0]}.signing_secret_rotated", target,
           after={"previous_expires_at": until})
    db.commit()
    return NewSecret(secret=secret, previous_expires_at=until)


@router.post("/v1/schools/{urn}/signing-secrets", status_code=201, response_model=NewSecret, responses=ONE,
             tags=["directory"])
def rotate_school_secret(urn: Urn, rt: RuntimeDep, db: WriterDep, admin: Admin) -> NewSecret:
    """A new webhook signing secret (shown once); the previous one keeps signing for the overlap."""
    return _rotate(db, rt, admin, urn, f"school:{urn}")


@router.put("/v1/agencies/{agency_id}", response_model=RecipientView,
            responses={**WRITES, 201: {"model": RecipientView, "description": "Created"}}, tags=["directory"])
def put_agency(agency_id: Agency, body: AgencyRequest, rt: RuntimeDep, db: WriterDep, admin: Admin,
               response: Response) -> RecipientView:
    """An agency's contact for case allocations (and the Early Help manager's, for overdue offers)."""
    recipient_id = directory.agency_recipient(agency_id)
    known = directory.recipient(db, recipient_id)
    before = views.recipient_view(known, _secrets(db, rt, recipient_id)) if known is not None else None
    try:
        row, created = directory.put_recipient(
            db, recipient_id, kind=directory.AGENCY, name=body.name, phase=None, channel=body.channel,
            webhook_url=body.webhook_url, alert_email=body.alert_email, calendar=None, now=rt.clock(),
            local_webhooks=rt.settings.local_webhooks)
        after = views.recipient_view(row, _secrets(db, rt, recipient_id))
        _audit(db, rt, admin, "agency.put", recipient_id, before, after)
        db.commit()
    except directory.DirectoryConflict as error:
        raise ProblemError(409, str(error)) from None
    response.status_code = 201 if created else 200
    return after


@router.get("/v1/agencies", response_model=list[RecipientView], responses=READS, tags=["directory"])
def list_agencies(rt: RuntimeDep, db: SessionDep, _: DirectoryReader) -> list[RecipientView]:
    return [views.recipient_view(row, _secrets(db, rt, row.recipient_id))
            for row in directory.recipients(db, directory.AGENCY)]


@router.post("/v1/agencies/{agency_id}/signing-secrets", status_code=201, response_model=NewSecret, responses=ONE,
             tags=["directory"])
def rotate_agency_secret(agency_id: Agency, rt: RuntimeDep, db: WriterDep, admin: Admin) -> NewSecret:
    return _rotate(db, rt, admin, directory.agency_recipient(agency_id), directory.agency_recipient(agency_id))


@router.post("/v1/key-adults/{staff_id}/password-link", status_code=201, response_model=PasswordLink,
             responses=ONE, tags=["directory"])
def issue_password_link(staff_id: Annotated[StaffRef, Path()], rt: RuntimeDep, db: WriterDep,
                        admin: Admin) -> PasswordLink:
    """A one-time code (and the page's link with it) for the key adult to set their own password on the page:
    shown once, stored only as a hash, usable once until `password_link_minutes` (a newer one replaces it). The
    password itself is never the admin's to know. Audited without the code: who issued it, for whom, when."""
    issued = links.issue(db, staff_id, rt.clock(), timedelta(minutes=rt.settings.password_link_minutes))
    if issued is None:
        raise ProblemError(404, "no such key adult")
    code, expires = issued
    _audit(db, rt, admin, "key_adult.password_link_issued", f"key_adult:{staff_id}", after={"expires_at": expires})
    db.commit()
    return PasswordLink(code=code, link=f"{rt.settings.page_url.rstrip('/')}/set-password?code={code}",
                        expires_at=expires)


# --- a school's inbox ----------------------------------------------------------------------------------------------

@router.get("/v1/inbox", response_model=list[InboxItem], responses=READS, tags=["inbox"])
def school_inbox(rt: RuntimeDep, db: SessionDep, who: School, limit: Limit = 200) -> list[InboxItem]:
    """This school's notifications: unacknowledged first, soonest deadline first."""
    return [views.inbox_item(row, rt.settings.mash_contact)
            for row in inbox.of_school(db, _urn_of(who), limit=limit)]


@router.get("/v1/inbox/{notification_id}", response_model=InboxItem, responses=ONE, tags=["inbox"])
def school_notification(notification_id: uuid.UUID, rt: RuntimeDep, db: SessionDep, who: School) -> InboxItem:
    row = inbox.one_of_school(db, _urn_of(who), notification_id)
    if row is None:
        raise ProblemError(404, "no such notification")
    return views.inbox_item(row, rt.settings.mash_contact)


@router.post("/v1/inbox/{notification_id}/acknowledgement", response_model=InboxItem, responses=ONE,
             tags=["inbox"])
def acknowledge(notification_id: uuid.UUID, rt: RuntimeDep, db: WriterDep, who: School) -> InboxItem:
    """The key adult has it: recorded with who (the API client) and when, and published. Idempotent."""
    row = inbox.one_of_school(db, _urn_of(who), notification_id)
    if row is None:
        raise ProblemError(404, "no such notification")
    if inbox.acknowledge(db, row, by=who.name, now=rt.clock(), source_uri=rt.settings.source_uri):
        _audit(db, rt, who, "notification.acknowledged", f"notification:{notification_id}")
        db.commit()
        rt.metrics.acknowledged.labels(row.kind, "before_deadline" if inbox.before(
            row.acknowledged_at, row.deadline) else "late").inc()  # type: ignore[arg-type]
        rt.relay.wake()
    return views.inbox_item(row, rt.settings.mash_contact)


# --- the MASH: delivery status and the worklist -------------------------------------------------------------------

@router.get("/v1/deliveries", response_model=list[DeliveryStatus], responses=READS, tags=["mash"])
def list_deliveries(db: SessionDep, _: Mash, limit: Limit = 200,
                    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
                    recipient: Annotated[str | None, Query(max_length=80)] = None) -> list[DeliveryStatus]:
    """Every school's deliveries (ids, times and states; no personal data), newest first."""
    return [views.delivery_status(n, d) for n, d in store.deliveries(db, state=state, recipient_id=recipient,
                                                                       limit=limit)]


@router.get("/v1/deliveries/{notification_id}", response_model=DeliveryDetail, responses=ONE, tags=["mash"])
def get_delivery(notification_id: uuid.UUID, db: SessionDep, _: Mash) -> DeliveryDetail:
    found = store.notification(db, notification_id)
    if found is None:
        raise ProblemError(404, "no such notification")
    return views.delivery_detail(found, db.get(DeliveryRow, notification_id), store.attempts_of(db, notification_id))


@router.post("/v1/deliveries/{notification_id}/retry", response_model=DeliveryStatus, responses=WRITES,
             tags=["mash"])
def retry_delivery(notification_id: uuid.UUID, rt: RuntimeDep, db: WriterDep, who: Mash) -> DeliveryStatus:
    """Send a failed delivery again, now, by the recipient's channel and address in the directory now (after
    an admin fixed them), with the full number of attempts. 409 when it was delivered, is queued already,
    was acknowledged, its personal data was erased, or its recipient is not in the directory. If it fails
    for good again, its worklist item is opened again."""
    note = store.notification(db, notification_id)
    # locked (PostgreSQL): two retries at once, or one racing the worker's result, cannot both apply
    row = db.exec(select(DeliveryRow).where(col(DeliveryRow.notification_id) == notification_id)
                  .with_for_update()).first()
    if note is None or row is None:
        raise ProblemError(404, "no such delivery")
    recipient = db.get(RecipientRow, note.recipient_id)
    before = {"state": row.state, "channel": row.channel, "attempts": row.attempts}
    try:
        queue.retry(db, row, note, recipient.channel if recipient else None, rt.clock(), who.name)
    except queue.NotRetryable as refused:
        raise ProblemError(409, f"not sent again: {refused}") from None
    _audit(db, rt, who, "delivery.retried", f"notification:{notification_id}", before,
           {"state": row.state, "channel": row.channel, "attempts": row.attempts})
    db.commit()
    rt.metrics.delivery_retries.labels(row.channel).inc()
    return views.delivery_status(note, row)


@router.get("/v1/worklist", response_model=list[WorkItem], responses=READS, tags=["mash"])
def get_worklist(db: SessionDep, _: Mash, limit: Limit = 200,
                 open_only: Annotated[bool, Query(alias="open")] = True) -> list[WorkItem]:
    """Children whose school is unknown and escalated deliveries: a person phones the school."""
    return [views.work_item(row) for row in store.worklist(db, open_only=open_only, limit=limit)]


@router.post("/v1/worklist/{item_id}/resolution", response_model=WorkItem, responses=ONE, tags=["mash"])
def resolve(item_id: uuid.UUID, body: ResolutionRequest, rt: RuntimeDep, db: WriterDep, who: Mash) -> WorkItem:
    row = db.get(WorklistRow, item_id)
    if row is None:
        raise ProblemError(404, "no such worklist item")
    if row.resolved_at is None:
        row.resolved_at, row.resolved_by = rt.clock(), f"{who.name}:{body.note_code}"[:80]
        db.add(row)
        _audit(db, rt, who, "worklist.resolved", f"worklist:{item_id}", after={"note_code": body.note_code})
        db.commit()
    return views.work_item(row)
