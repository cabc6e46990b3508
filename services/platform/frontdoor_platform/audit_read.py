"""Reading the audit trail: `GET /v1/audit` for the callers a service lets
through (its admin role), oldest first, a page at a time, filtered by
target, action and time (see `audit`)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, StringConstraints
from pydantic import Field as Described
from sqlmodel import Session, col, select

from frontdoor_contracts.caps import ONE_LINE
from frontdoor_contracts.errors import FieldError

from .audit import AuditFields
from .http import ReadSession
from .problems import ProblemError, problem_responses


class AuditEntryView(BaseModel):
    id: int = Described(description="The entry's place in the trail: pass the last one seen as `after` for more")
    audit_id: uuid.UUID
    at: AwareDatetime
    actor: str = Described(description="client:<API client>, staff:<staff id> or cli:<operator>")
    action: str
    target: str = Described(description="<kind>:<id> of what changed")
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class AuditPage(BaseModel):
    entries: list[AuditEntryView]
    next_after: int | None = Described(description="More entries follow: ask again with after=this (None: no more)")


EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
OneLine = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]


def entries(session: Session, table: type[AuditFields], *, target: str | None = None, action: str | None = None,
            since: datetime | None = None, after: int | None = None, limit: int = 100) -> AuditPage:
    """The trail in the order it was written, from `after` (an entry's id), filtered, at most `limit`."""
    query = select(table).order_by(col(table.id)).limit(limit + 1)
    for column, value in ((table.target, target), (table.action, action)):
        if value is not None:
            query = query.where(col(column) == value)
    if since is not None:
        query = query.where(col(table.at) >= since)
    if after is not None:
        query = query.where(col(table.id) > after)
    rows = list(session.exec(query).all())
    shown = [AuditEntryView.model_validate(row, from_attributes=True) for row in rows[:limit]]
    return AuditPage(entries=shown, next_after=shown[-1].id if len(rows) > limit else None)


def add_audit_route(router: APIRouter, table: type[AuditFields], reader: Any) -> None:
    """`GET /v1/audit` on `router`, for the callers `reader` lets through (a `requires(...)` dependency)."""

    @router.get("/v1/audit", response_model=AuditPage, responses=problem_responses(401, 403, 422), tags=["audit"],
                dependencies=[Depends(reader)])
    def read_audit(db: ReadSession,
                   target: Annotated[OneLine | None, Query(description="Only this target (<kind>:<id>)")] = None,
                   action: Annotated[OneLine | None, Query(description="Only this action")] = None,
                   since: Annotated[AwareDatetime | None, Query(description="Only changes at or after this")] = None,
                   after: Annotated[int | None, Query(ge=0, le=2**62, description="Entries after this id")] = None,
                   limit: Annotated[int, Query(ge=1, le=500)] = 100) -> AuditPage:
        """Every change made through this service's API or command line, oldest first: who, what, when, and a
        directory entry before and after (never a secret or password)."""
        if since is not None and not EARLIEST <= since <= LATEST:
            raise ProblemError(422, "the request is not valid",
                               [FieldError("since", "out_of_range", "must be between 1970 and 9000")])
        return entries(db, table, target=target, action=action, since=since, after=after, limit=limit)
