"""HTTP routes: the partnership's KPI report over any period (analysts and
managers), one family's outcome view (Early Help managers), one family's
chronology (Early Help managers, and the lead agency of one of the
family's cases: to another agency the family does not exist) and the audit
trail and the read log (admins: the keys made and revoked, who read which
family; no route here changes anything). A family's view or chronology is
in the read log (the key, the family's ids, the route) before it is answered.
The routes are plain functions: FastAPI runs them in worker threads, off
the event loop."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from frontdoor_contracts.errors import FieldError
from frontdoor_platform import audit_read, reads, reads_route
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, app_runtime, requires, requires_any
from frontdoor_platform.problems import ProblemError, problem_responses

from .access import Role, acting_agency
from .domain.view import FamilyView
from .models import AuditEntry, FamilyAliasRow, FamilyViewRow, ReadEntry
from .readmodel.calculations import year_before
from .readmodel.chronology_read import Chronology, chronology
from .readmodel.report import kpi_report
from .readmodel.report_models import KpiReport
from .runtime import Runtime

router = APIRouter()


RuntimeDep = Annotated[Runtime, Depends(app_runtime)]


SessionDep = ReadSession
Analyst = Annotated[Caller, Depends(requires(Role.ANALYST))]
Manager = Annotated[Caller, Depends(requires(Role.MANAGER))]
ManagerOrAgency = Annotated[Caller, Depends(requires_any(Role.MANAGER, Role.AGENCY))]
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)
ReadLog = Annotated[reads.Reads, Depends(reads.recorder(ReadEntry))]
audit_read.add_audit_route(router, AuditEntry, requires(Role.ADMIN))
reads_route.add_reads_route(router, ReadEntry, requires(Role.ADMIN))


@router.get("/v1/kpis", response_model=KpiReport, responses=problem_responses(401, 403, 422), tags=["kpis"])
def kpis(rt: RuntimeDep, db: SessionDep, _: Analyst,
         start: Annotated[AwareDatetime | None,
                          Query(description="From (inclusive); default 12 calendar months before end")] = None,
         end: Annotated[AwareDatetime | None, Query(description="To (exclusive); default now")] = None) -> KpiReport:
    """Every KPI over the facts whose business time falls in [start, end), each with its numerator and
    denominator."""
    for name, moment in (("start", start), ("end", end)):  # (a year before the first of time is no date)
        if moment is not None and not EARLIEST <= moment <= LATEST:
            raise ProblemError(422, "the request is not valid",
                               [FieldError(name, "out_of_range", "must be between 1970 and 9000")])
    now = rt.clock()
    until: datetime = end or now
    since: datetime = start or year_before(until)
    if since >= until:
        raise ProblemError(422, "the request is not valid", [FieldError("start", "after_end", "must be before end")])
    return kpi_report(db, since, until, now)


@router.get("/v1/families/{family_id}", response_model=FamilyView,
            responses=problem_responses(401, 403, 404, 422, 503), tags=["families"])
def family(family_id: uuid.UUID, db: SessionDep, _: Manager, log: ReadLog) -> FamilyView:
    """One family: its problems over time, its plans and progress against each target, its events (ids and
    categories only). A family merged into another answers with that family."""
    alias = db.get(FamilyAliasRow, family_id)
    row = db.get(FamilyViewRow, alias.now_family_id if alias else family_id)
    if row is None:
        raise ProblemError(404, "no such family")
    view = FamilyView.model_validate_json(row.document)
    log.shown_from_thread(db, [reads.record_of("family", i) for i in dict.fromkeys((family_id, row.family_id))])
    return view


@router.get("/v1/families/{family_id}/chronology", response_model=Chronology,
            responses=problem_responses(401, 403, 404, 422, 503), tags=["families"])
def family_chronology(family_id: uuid.UUID, db: SessionDep, who: ManagerOrAgency, log: ReadLog) -> Chronology:
    """One family's events across the platform in time order: the contacts (source, concerns), the MASH
    decisions (level of need, referral and re-referral flags), its cases (opened, allocated, offer, answer,
    closure and outcome), the partners' facts as categories, the problems identified, each plan and each target
    met, the outcomes achieved; ids, categories and times only. A merged family answers with the family it is
    part of. An agency's key sees only a family one of whose cases is allocated to its agency now (404
    otherwise, as for a family never seen)."""
    try:
        agency = acting_agency(who.roles, who.scope)
    except PermissionError as refused:
        raise ProblemError(403, str(refused)) from None
    found = chronology(db, family_id, agency)
    if found is None:
        raise ProblemError(404, "no such family")
    # every family whose events are shown (a merged-in family's subject access request finds this read)
    shown = dict.fromkeys((family_id, found.now_family_id, *found.family_ids))
    log.shown_from_thread(db, [reads.record_of("family", i) for i in shown])
    return found
