"""The allocation service's staff pages under /board, signed in with the
kit's machinery (`frontdoor_platform.staff`: argon2id accounts, hashed-token
sessions with absolute and idle timeouts, a CSRF token per session, the
throttle, an optional second factor, one-time set-password links).

`PAGES` is the service's `StaffPages` (its tables, its roles, its
templates); `install` puts the kit's routes (sign in and out, set a
password, the second factor, the error pages) and the board's own
(`routes.py`: the board, a case, the caseloads; `forms.py`: the moves) on an
app. What a page shows and what a form does is what the API shows and does
(`board.py`, `moves.py`: one code path, the same rules, events, audit and
read log); a refusal (`ProblemError`) becomes an error page that says what
to do (`refused`)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from pydantic import ValidationError

from frontdoor_contracts.errors import FieldError
from frontdoor_platform import reads
from frontdoor_platform.http import app_runtime
from frontdoor_platform.problems import ProblemError
from frontdoor_platform.staff import Staff, StaffPages, StaffTexts

from ..access import StaffRole
from ..models import ReadEntry, StaffAccountRow, StaffLinkRow, StaffSessionRow
from ..moves import Actor
from ..runtime import Runtime

PREFIX = "/board"
PAGES = StaffPages(
    prefix=PREFIX, title="Early Help allocations", accounts=StaffAccountRow, sessions=StaffSessionRow,
    links=StaffLinkRow, roles=StaffRole, templates="allocation.page",
    texts=StaffTexts(ask="the Early Help coordinator", home="Go to the board"),
    flashes={"allocated": "The case is allocated. The agency sees it in its caseload now.",
             "offer-recorded": "The offer is recorded.", "answer-recorded": "The family's answer is recorded.",
             "closed": "The case is closed with its outcome.", "stepped-up": "The case is recorded as stepped up."})
RuntimeDep = Annotated[Runtime, Depends(app_runtime)]
SignedIn = Annotated[Staff, Depends(PAGES.signed_in)]
SignedInForm = Annotated[Staff, Depends(PAGES.signed_in_with_csrf)]
PAGE_ROLES = frozenset(role.value for role in StaffRole)  # an account with none of them sees nothing here


def actor(staff: Staff) -> Actor:
    return Actor.staff(staff.staff_id, staff.roles, staff.scope)


def log_of(request: Request, staff: Staff) -> reads.Reads:
    """The page view's read log entries: who is `staff:<staff id>`, the route its template."""
    return reads.staff_reads(request, ReadEntry, staff.staff_id)


def _fields(errors: list[FieldError]) -> str:
    return "; ".join(f"{error.field or 'the form'}: {error.message}" for error in errors)


def refused(request: Request, staff: Staff, problem: ProblemError) -> Response:
    """A refusal as a page saying what happened and what to do (never what the form said)."""
    if problem.status == 404:
        return PAGES.not_found(request, staff)
    if problem.status == 503:
        return PAGES.unavailable(request, staff)
    if problem.status == 403:
        return PAGES.error(request, 403, "You cannot do this", "Your account does not allow this. If you need "
                           "to, ask the Early Help coordinator.", staff=staff)
    if problem.status == 409:
        return PAGES.error(request, 409, "The case has changed", f"{problem.detail}. Go back to the case, reload "
                           "it to see where it is now, and try again if it still needs doing.", staff=staff)
    detail = _fields(problem.errors) if problem.errors else (problem.detail or "the form is not valid")
    return PAGES.error(request, 422, "That could not be saved", f"Check the form and try again ({detail}).",
                       staff=staff)


def invalid(error: ValidationError) -> ProblemError:
    """A form that does not make a valid request: each field and its rule, never the value sent."""
    return ProblemError(422, "the form is not valid", [
        FieldError(".".join(str(p) for p in e["loc"]), e["type"], e["msg"]) for e in error.errors(include_input=False)])


def answer(request: Request, staff: Staff, work: Callable[[], Response]) -> Response:
    """`work`'s page, or the refusal's; an account with none of the pages' roles is refused first."""
    if not staff.roles & PAGE_ROLES:
        return refused(request, staff, ProblemError(403))
    try:
        return work()
    except ProblemError as problem:
        return refused(request, staff, problem)


@cache
def stylesheet() -> bytes:
    return resources.files("allocation.page").joinpath("static/board.css").read_bytes()


def install(app: FastAPI, settings: Any) -> None:
    """The kit's staff routes and the board's pages on `app`."""
    from . import forms, routes

    PAGES.install(app, settings)
    app.include_router(routes.router)
    app.include_router(forms.router)
