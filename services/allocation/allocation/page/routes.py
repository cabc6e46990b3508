"""The board's pages (GET), under /board and out of the OpenAPI document:
the board (the next meeting's agenda, most urgent first, and the open cases
by status; it reloads itself, often while a meeting runs), one case (its
needs, its timeline and the forms its status and the reader's roles allow),
and the caseloads (every agency's, one agency's, one lead professional's).

Each reads what the API would answer (`board.py`): the same rules of who
sees what (an agency's staff their agency's cases only; another agency's
case or caseload is "page not found", the same as none), the same read log
(who: `staff:<staff id>`) written before the page is shown. Plain functions:
FastAPI runs them in worker threads."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response

from frontdoor_platform.http import ReadSession
from frontdoor_platform.problems import ProblemError

from .. import board, store
from ..access import Role, may
from ..domain.meetings import meeting_running
from . import views
from .pages import PAGES, RuntimeDep, SignedIn, actor, answer, log_of, stylesheet

router = APIRouter(prefix=PAGES.prefix, include_in_schema=False)
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def _id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise ProblemError(404) from None


def _identifier(raw: str) -> str:
    if not IDENTIFIER.match(raw):
        raise ProblemError(404)
    return raw


@router.get("/static/board.css")
async def board_stylesheet() -> Response:
    return Response(stylesheet(), media_type="text/css", headers={"Cache-Control": "no-store"})


@router.get("/")
def board_page(request: Request, staff: SignedIn, rt: RuntimeDep, db: ReadSession) -> Response:
    def page() -> Response:
        shown = board.meeting_board(rt, db, actor(staff), log_of(request, staff))
        now = rt.clock()
        running = meeting_running(now, rt.meeting, rt.rules.bank_holidays,
                                  length=timedelta(minutes=rt.settings.meeting_minutes))
        refresh = rt.settings.board_refresh_seconds if running is not None else rt.settings.board_idle_refresh_seconds
        return PAGES.render(request, "board.html", staff=staff, title="The board", now=now,
                            running=views.when(running.isoformat()) if running else None,
                            refresh_seconds=refresh, can_allocate=may(staff.roles, Role.COORDINATOR.value),
                            chronology_url=rt.settings.chronology_url, **views.board_page(shown))

    return answer(request, staff, page)


@router.get("/cases/{case_id}")
def case_page(case_id: str, request: Request, staff: SignedIn, rt: RuntimeDep, db: ReadSession) -> Response:
    def page() -> Response:
        shown = board.case_with_timeline(rt, db, actor(staff), log_of(request, staff), _id(case_id))
        case = views.case_row(shown)
        status, acts = shown["status"], may(staff.roles, Role.AGENCY.value)
        can_allocate = status == "open" and may(staff.roles, Role.COORDINATOR.value)
        agencies, professionals = store.known_leads(db) if can_allocate else ([], [])
        return PAGES.render(
            request, "case.html", staff=staff, title=f"Case {case['short_id']}", case=case,
            timeline=views.timeline_rows(shown["timeline"]),
            can_allocate=can_allocate, known_agencies=agencies, known_professionals=professionals,
            can_offer=acts and status == "allocated", can_answer=acts and status == "offer_made",
            can_step_up=acts and status in ("open", "allocated", "offer_made"),
            closing=views.closing_outcomes(status) if acts else [], agency_kinds=views.agency_kinds(),
            chronology_url=rt.settings.chronology_url)

    return answer(request, staff, page)


@router.get("/caseloads/")
def caseloads_page(request: Request, staff: SignedIn, rt: RuntimeDep, db: ReadSession) -> Response:
    def page() -> Response:
        shown = board.caseloads(rt, db, actor(staff))
        agencies = [{**a, "outcomes": views.outcome_rows(a["closed_by_outcome"])} for a in shown["agencies"]]
        return PAGES.render(request, "caseloads.html", staff=staff, title="Caseloads",
                            quarter_start=shown["quarter_start"],
                            quarter_text=views.day_text(shown["quarter_start"]), agencies=agencies)

    return answer(request, staff, page)


@router.get("/caseloads/{agency_id}")
def agency_page(agency_id: str, request: Request, staff: SignedIn, rt: RuntimeDep, db: ReadSession) -> Response:
    def page() -> Response:
        shown = board.agency_caseload(rt, db, actor(staff), log_of(request, staff), _identifier(agency_id))
        return PAGES.render(request, "caseload.html", staff=staff, title=f"Caseload of {shown['lead_agency_id']}",
                            chronology_url=rt.settings.chronology_url, **views.caseload_page(shown))

    return answer(request, staff, page)


@router.get("/caseloads/{agency_id}/{lead_professional_ref}")
def professional_page(agency_id: str, lead_professional_ref: str, request: Request, staff: SignedIn,
                      rt: RuntimeDep, db: ReadSession) -> Response:
    def page() -> Response:
        shown = board.agency_caseload(rt, db, actor(staff), log_of(request, staff), _identifier(agency_id),
                                      _identifier(lead_professional_ref))
        return PAGES.render(request, "caseload.html", staff=staff,
                            title=f"Caseload of {shown['lead_professional_ref']}",
                            chronology_url=rt.settings.chronology_url, **views.caseload_page(shown))

    return answer(request, staff, page)
