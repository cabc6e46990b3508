"""HTTP routes. School: its own inbox and acknowledgement (another
school's id is 404). MASH: delivery status across schools, sending a failed
delivery again, and the worklist. Admin: the audit trail of every change,
and the directory (`directory_routes.py`, included here: schools, agencies,
signing secrets, key adults' set-password codes). Every change is audited
in its own transaction (who: the key; never a secret or password). A read
that shows a child (the inbox, the worklist) or a key adult (the schools)
is in the read log (who: the key; what: ids; the route) before it is
answered, 503 when it cannot be; the deliveries (ids, times, states) and
the agencies are not. The
routes are plain functions: FastAPI runs them in worker threads, off the
event loop."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlmodel import Session, col, select

from frontdoor_platform import audit_read, reads, reads_route
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, WriteSession, requires
from frontdoor_platform.problems import ProblemError, problem_responses

from . import directory_routes, inbox, store, views
from .access import Mash, Role, School
from .delivery import queue
from .models import AuditEntry, DeliveryRow, NotificationRow, ReadEntry, RecipientRow, WorklistRow
from .responses import (
    ONE,
    READS,
    WRITES,
    DeliveryDetail,
    DeliveryStatus,
    InboxItem,
    ResolutionRequest,
    WorkItem,
)
from .runtime import RuntimeDep

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=1000)]
LOGGED, LOGGED_ONE = problem_responses(401, 403, 422, 503), problem_responses(401, 403, 404, 422, 503)
ReadLog = Annotated[reads.Reads, Depends(reads.recorder(ReadEntry))]
audit_read.add_audit_route(router, AuditEntry, requires(Role.ADMIN))
reads_route.add_reads_route(router, ReadEntry, requires(Role.ADMIN))
router.include_router(directory_routes.router)  # here, so the OpenAPI document keeps its order


def notification_records(rows: Sequence[NotificationRow]) -> list[str]:
    """What a notification shows, for the read log: the notification and its child (by id)."""
    return [record for row in rows for record in (
        reads.record_of("notification", row.notification_id),
        *([reads.record_of("person", row.child_id)] if row.child_id else []))]


def _shown(log: reads.Reads, db: Session, records: list[str]) -> None:
    log.shown_from_thread(db, records)


def _urn_of(who: Caller) -> str:
    if not who.scope:
        raise ProblemError(403, "a school API key must be scoped to its school's URN")
    return who.scope


# --- a school's inbox ----------------------------------------------------------------------------------------------

@router.get("/v1/inbox", response_model=list[InboxItem], responses=LOGGED, tags=["inbox"])
def school_inbox(rt: RuntimeDep, db: ReadSession, who: School, log: ReadLog, limit: Limit = 200) -> list[InboxItem]:
    """This school's notifications: unacknowledged first, soonest deadline first."""
    rows = inbox.of_school(db, _urn_of(who), limit=limit)
    shown = [views.inbox_item(row, rt.settings.mash_contact) for row in rows]
    _shown(log, db, notification_records(rows))
    return shown


@router.get("/v1/inbox/{notification_id}", response_model=InboxItem, responses=LOGGED_ONE, tags=["inbox"])
def school_notification(notification_id: uuid.UUID, rt: RuntimeDep, db: ReadSession, who: School,
                        log: ReadLog) -> InboxItem:
    row = inbox.one_of_school(db, _urn_of(who), notification_id)
    if row is None:
        raise ProblemError(404, "no such notification")
    shown = views.inbox_item(row, rt.settings.mash_contact)
    _shown(log, db, notification_records([row]))
    return shown


@router.post("/v1/inbox/{notification_id}/acknowledgement", response_model=InboxItem, responses=ONE,
             tags=["inbox"])
def acknowledge(notification_id: uuid.UUID, rt: RuntimeDep, db: WriteSession, who: School) -> InboxItem:
    """The key adult has it: recorded with who (the API client) and when, and published. Idempotent."""
    row = inbox.one_of_school(db, _urn_of(who), notification_id)
    if row is None:
        raise ProblemError(404, "no such notification")
    if inbox.acknowledge(db, row, by=who.name, now=rt.clock(), source_uri=rt.settings.source_uri):
        rt.audit(db, who, "notification.acknowledged", f"notification:{notification_id}")
        db.commit()
        rt.metrics.acknowledged.labels(row.kind, "before_deadline" if inbox.before(
            row.acknowledged_at, row.deadline) else "late").inc()  # type: ignore[arg-type]
        rt.relay.wake()
    return views.inbox_item(row, rt.settings.mash_contact)


# --- the MASH: delivery status and the worklist -------------------------------------------------------------------

@router.get("/v1/deliveries", response_model=list[DeliveryStatus], responses=READS, tags=["mash"])
def list_deliveries(db: ReadSession, _: Mash, limit: Limit = 200,
                    state: Annotated[Literal["pending", "delivered", "failed"] | None, Query()] = None,
                    recipient: Annotated[str | None, Query(max_length=80)] = None) -> list[DeliveryStatus]:
    """Every school's deliveries (ids, times and states; no personal data), newest first."""
    return [views.delivery_status(n, d) for n, d in store.deliveries(db, state=state, recipient_id=recipient,
                                                                       limit=limit)]


@router.get("/v1/deliveries/{notification_id}", response_model=DeliveryDetail, responses=ONE, tags=["mash"])
def get_delivery(notification_id: uuid.UUID, db: ReadSession, _: Mash) -> DeliveryDetail:
    found = store.notification(db, notification_id)
    if found is None:
        raise ProblemError(404, "no such notification")
    return views.delivery_detail(found, db.get(DeliveryRow, notification_id), store.attempts_of(db, notification_id))


@router.post("/v1/deliveries/{notification_id}/retry", response_model=DeliveryStatus, responses=WRITES,
             tags=["mash"])
def retry_delivery(notification_id: uuid.UUID, rt: RuntimeDep, db: WriteSession, who: Mash) -> DeliveryStatus:
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
    rt.audit(db, who, "delivery.retried", f"notification:{notification_id}", before,
           {"state": row.state, "channel": row.channel, "attempts": row.attempts})
    db.commit()
    rt.metrics.delivery_retries.labels(row.channel).inc()
    return views.delivery_status(note, row)


@router.get("/v1/worklist", response_model=list[WorkItem], responses=LOGGED, tags=["mash"])
def get_worklist(db: ReadSession, _: Mash, log: ReadLog, limit: Limit = 200,
                 open_only: Annotated[bool, Query(alias="open")] = True) -> list[WorkItem]:
    """Children whose school is unknown and escalated deliveries: a person phones the school."""
    shown = [views.work_item(row) for row in store.worklist(db, open_only=open_only, limit=limit)]
    _shown(log, db, [reads.record_of(kind, value) for item in shown for kind, value in (
        ("worklist", item.item_id), ("person", item.child_id), ("contact", item.contact_id),
        ("notification", item.notification_id)) if value is not None])
    return shown


@router.post("/v1/worklist/{item_id}/resolution", response_model=WorkItem, responses=ONE, tags=["mash"])
def resolve(item_id: uuid.UUID, body: ResolutionRequest, rt: RuntimeDep, db: WriteSession, who: Mash) -> WorkItem:
    row = db.get(WorklistRow, item_id)
    if row is None:
        raise ProblemError(404, "no such worklist item")
    if row.resolved_at is None:
        row.resolved_at, row.resolved_by = rt.clock(), f"{who.name}:{body.note_code}"[:80]
        db.add(row)
        rt.audit(db, who, "worklist.resolved", f"worklist:{item_id}", after={"note_code": body.note_code})
        db.commit()
    return views.work_item(row)
