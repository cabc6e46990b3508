"""The chronology page (`/chronology/`): the Early Help manager and the lead
agencies' staff, signed in with the kit's staff machinery
(`frontdoor_platform.staff`: argon2 accounts, sessions, CSRF, throttle;
accounts made by `frontdoor-outcomes accounts add`), find a family by its
id and read its chronology: the same rows, rules and 404 as
`GET /v1/families/{family_id}/chronology` (a manager sees every family, an
agency only those one of whose cases is allocated to it now). Each family
shown is in the read log (`staff:<staff id>`, the family's ids, the
route) before the page is sent; a log that cannot be written is the
"not available" page, never the data."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from frontdoor_platform import reads
from frontdoor_platform.http import in_thread
from frontdoor_platform.problems import ProblemError
from frontdoor_platform.staff import Staff, StaffPages, StaffTexts

from .access import StaffRole, acting_agency
from .models import ReadEntry, StaffAccountRow, StaffLinkRow, StaffSessionRow
from .page_views import rows
from .readmodel.chronology_read import Chronology, chronology

REFRESH_SECONDS = 120  # a page left open in a meeting shows what has happened since
PAGES = StaffPages(
    prefix="/chronology", title="Family chronology", accounts=StaffAccountRow, sessions=StaffSessionRow,
    links=StaffLinkRow, roles=StaffRole, templates="outcomes", audit_subject="staff",
    texts=StaffTexts(sign_in_intro="Sign in with your staff ID and password to read a family's chronology.",
                     ask="the Early Help service's administrator"))
Signed = Annotated[Staff, Depends(PAGES.signed_in)]
router = APIRouter(include_in_schema=False)


def _not_found(request: Request, staff: Staff) -> HTMLResponse:
    return PAGES.error(request, 404, "Family not found", "There is no family with this ID that you can see. "
                       "Check the ID you were given (from the board or a caseload), or ask the Early Help manager.",
                       staff=staff)


def _agency(request: Request, staff: Staff) -> tuple[str | None, HTMLResponse | None]:
    """The agency whose families `staff` may see (None: every family), or the page saying why none."""
    if StaffRole.MANAGER.value not in staff.roles and StaffRole.AGENCY.value not in staff.roles:
        return None, PAGES.error(request, 403, "Not for your account", "Your account cannot read chronologies. "
                                 "Ask the Early Help service's administrator for the manager's or an agency's "
                                 "access.", staff=staff)
    try:
        return acting_agency(staff.roles, staff.scope), None
    except PermissionError:
        return None, PAGES.error(request, 403, "No agency on your account", "Your account names no agency, so it "
                                 "can show no family. Ask the Early Help service's administrator to add your "
                                 "agency to it.", staff=staff)


@router.get("/chronology/", response_class=HTMLResponse)
async def start(request: Request, staff: Signed) -> Response:
    """Find a family by its id."""
    refused = _agency(request, staff)[1]
    if refused is not None:
        return refused
    asked = request.query_params.get("family_id")
    if asked is None:
        return PAGES.render(request, "chronology_start.html", staff=staff, title="Find a family", error=None)
    try:
        family_id = uuid.UUID(asked.strip())
    except ValueError:
        return PAGES.render(request, "chronology_start.html", 422, staff=staff, title="Find a family",
                            error="Enter the family's ID: 32 letters and digits in five groups, as the board "
                                  "and the caseloads show it.")
    return PAGES.redirect(f"{PAGES.prefix}/families/{family_id}")


def _read(request: Request, family_id: uuid.UUID, agency: str | None) -> Chronology | None:
    with Session(request.app.state.auth.engine) as db:
        return chronology(db, family_id, agency)


@router.get("/chronology/families/{family_id}", response_class=HTMLResponse)
async def family(request: Request, family_id: str, staff: Signed) -> Response:
    """One family's chronology, oldest first."""
    agency, refused = _agency(request, staff)
    if refused is not None:
        return refused
    try:
        asked = uuid.UUID(family_id)
    except ValueError:
        return _not_found(request, staff)
    found = await in_thread(_read, request, asked, agency)
    if found is None:
        return _not_found(request, staff)
    try:
        await reads.staff_reads(request, ReadEntry, staff.staff_id).shown(
            [reads.record_of("family", i) for i in dict.fromkeys((asked, found.now_family_id, *found.family_ids))])
    except ProblemError:
        return PAGES.unavailable(request, staff)
    return PAGES.render(request, "chronology.html", staff=staff, title="Family chronology", chronology=found,
                        rows=rows(found), refresh_seconds=REFRESH_SECONDS)
