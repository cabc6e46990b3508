"""Reading the read log: `GET /v1/reads?record=<kind>:<id>` for the callers a
service lets through (its admin role): who read that record, when and by
which route, oldest first, a page at a time (see `reads`). Reading the log
is not itself logged: it holds ids, never a person's data."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel
from pydantic import Field as Described
from sqlmodel import Session, col, select

from .http import ReadSession
from .problems import problem_responses
from .reads import ReadFields

RECORD_PATTERN = r"^[a-z_]{1,40}:[A-Za-z0-9._:@-]{1,119}$"


class ReadView(BaseModel):
    id: int = Described(description="The row's place in the log: pass the last one seen as `after` for more")
    read_id: uuid.UUID = Described(description="The request: every record one read showed shares it")
    at: AwareDatetime
    reader: str = Described(description="client:<API client> or staff:<staff id>")
    route: str = Described(description="The method and route template, never the filled URL")
    record: str = Described(description="<kind>:<id> of what was shown")


class ReadPage(BaseModel):
    reads: list[ReadView]
    next_after: int | None = Described(description="More reads follow: ask again with after=this (None: no more)")


def reads_page(session: Session, table: type[ReadFields], record: str, *, after: int | None = None,
               limit: int = 100) -> ReadPage:
    """The reads of `record` in the order they were written, from `after` (a row's id), at most `limit`."""
    query = select(table).where(col(table.record) == record).order_by(col(table.id)).limit(limit + 1)
    if after is not None:
        query = query.where(col(table.id) > after)
    rows = list(session.exec(query).all())
    shown = [ReadView.model_validate(row, from_attributes=True) for row in rows[:limit]]
    return ReadPage(reads=shown, next_after=shown[-1].id if len(rows) > limit else None)


def add_reads_route(router: APIRouter, table: type[ReadFields], reader: Any) -> None:
    """`GET /v1/reads` on `router`, for the callers `reader` lets through (a `requires(...)` dependency)."""

    @router.get("/v1/reads", response_model=ReadPage, responses=problem_responses(401, 403, 422), tags=["audit"],
                dependencies=[Depends(reader)])
    def read_log(db: ReadSession,
                 record: Annotated[str, Query(pattern=RECORD_PATTERN, max_length=160,
                                              description="The record: <kind>:<id>, e.g. person:<uuid>")],
                 after: Annotated[int | None, Query(ge=0, le=2**62, description="Reads after this id")] = None,
                 limit: Annotated[int, Query(ge=1, le=500)] = 100) -> ReadPage:
        """Who read one record (a contact, person, family, case, notification...), when and by which route,
        oldest first."""
        return reads_page(db, table, record, after=after, limit=limit)
