"""The directory's HTTP routes (admin; the MASH may read the directory to
phone a school): schools (name, phase, how each is told, its key adults and
calendar overrides), agencies' contacts, webhook signing-secret rotation
(the new secret shown once; the previous one signs on for the overlap) and
key adults' one-time set-password codes (the key adult sets the password
on the page: the admin never knows it). Every change is audited in its own
transaction (who: the key; an entry before and after, never a secret, a
code or a password). Reading a school shows its key adults (staff ids and
work emails): the read log records them by staff id before the answer
(503 when it cannot). `api.py` includes these routes."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response
from sqlmodel import Session

from frontdoor_contracts.allocation import AgencyId, StaffRef
from frontdoor_contracts.identifiers import SchoolUrn
from frontdoor_platform import reads
from frontdoor_platform.apikeys import Caller
from frontdoor_platform.http import ReadSession, WriteSession
from frontdoor_platform.problems import ProblemError, problem_responses
from frontdoor_platform.staff import links

from . import directory, views
from .access import Admin, DirectoryReader
from .delivery.signing import new_secret
from .models import ReadEntry
from .page.pages import PAGES
from .responses import (
    ONE,
    READS,
    WRITES,
    AgencyRequest,
    NewSecret,
    PasswordLink,
    RecipientView,
    SchoolRequest,
    SchoolView,
)
from .runtime import Runtime, RuntimeDep

router = APIRouter()
Urn = Annotated[SchoolUrn, Path(description="The school's unique reference number (6 digits)")]
Agency = Annotated[AgencyId, Path(description="The agency's identifier")]
ReadLog = Annotated[reads.Reads, Depends(reads.recorder(ReadEntry))]
LOGGED, LOGGED_ONE = problem_responses(401, 403, 422, 503), problem_responses(401, 403, 404, 422, 503)


def _shown(log: reads.Reads, db: Session, schools: list[SchoolView]) -> None:
    """The schools' key adults (staff ids and work emails: people's data) in the read log, by staff id."""
    log.shown_from_thread(db, [reads.record_of("key_adult", adult.staff_id) for school in schools
                               for adult in school.key_adults])


def _secrets(db: Session, rt: Runtime, recipient_id: str) -> int:
    return len(directory.signing_secrets(db, recipient_id, rt.clock()))


def _school_view(db: Session, rt: Runtime, urn: str) -> SchoolView:
    row = directory.school(db, urn)
    if row is None:
        raise ProblemError(404, "no such school in the directory")
    return views.school_view(row, directory.key_adults(db, urn), _secrets(db, rt, urn))


@router.put("/v1/schools/{urn}", response_model=SchoolView,
            responses={**WRITES, 201: {"model": SchoolView, "description": "Created"}}, tags=["directory"])
def put_school(urn: Urn, body: SchoolRequest, rt: RuntimeDep, db: WriteSession, admin: Admin,
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
        rt.audit(db, admin, "school.put", f"school:{urn}", before, after)
        db.commit()
    except directory.DirectoryConflict as error:
        raise ProblemError(409, str(error)) from None
    response.status_code = 201 if created else 200
    return after


@router.get("/v1/schools", response_model=list[SchoolView], responses=LOGGED, tags=["directory"])
def list_schools(rt: RuntimeDep, db: ReadSession, _: DirectoryReader, log: ReadLog) -> list[SchoolView]:
    shown = [views.school_view(row, directory.key_adults(db, row.recipient_id), _secrets(db, rt, row.recipient_id))
             for row in directory.recipients(db, directory.SCHOOL)]
    _shown(log, db, shown)
    return shown


@router.get("/v1/schools/{urn}", response_model=SchoolView, responses=LOGGED_ONE, tags=["directory"])
def get_school(urn: Urn, rt: RuntimeDep, db: ReadSession, _: DirectoryReader, log: ReadLog) -> SchoolView:
    shown = _school_view(db, rt, urn)
    _shown(log, db, [shown])
    return shown


def _rotate(db: Session, rt: Runtime, who: Caller, recipient_id: str, target: str) -> NewSecret:
    """A new signing secret (audited without it: when the previous one stops signing)."""
    if directory.recipient(db, recipient_id) is None:
        raise ProblemError(404, "no such recipient in the directory")
    secret = new_secret()
    until = directory.rotate_secret(db, recipient_id, secret, rt.clock(),
                                    timedelta(hours=rt.settings.secret_overlap_hours), rt.settings.sealing_keys)
    rt.audit(db, who, f"{target.split(':')[0]}.signing_secret_rotated", target,
           after={"previous_expires_at": until})
    db.commit()
    return NewSecret(secret=secret, previous_expires_at=until)


@router.post("/v1/schools/{urn}/signing-secrets", status_code=201, response_model=NewSecret, responses=ONE,
             tags=["directory"])
def rotate_school_secret(urn: Urn, rt: RuntimeDep, db: WriteSession, admin: Admin) -> NewSecret:
    """A new webhook signing secret (shown once); the previous one keeps signing for the overlap."""
    return _rotate(db, rt, admin, urn, f"school:{urn}")


@router.put("/v1/agencies/{agency_id}", response_model=RecipientView,
            responses={**WRITES, 201: {"model": RecipientView, "description": "Created"}}, tags=["directory"])
def put_agency(agency_id: Agency, body: AgencyRequest, rt: RuntimeDep, db: WriteSession, admin: Admin,
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
        rt.audit(db, admin, "agency.put", recipient_id, before, after)
        db.commit()
    except directory.DirectoryConflict as error:
        raise ProblemError(409, str(error)) from None
    response.status_code = 201 if created else 200
    return after


@router.get("/v1/agencies", response_model=list[RecipientView], responses=READS, tags=["directory"])
def list_agencies(rt: RuntimeDep, db: ReadSession, _: DirectoryReader) -> list[RecipientView]:
    return [views.recipient_view(row, _secrets(db, rt, row.recipient_id))
            for row in directory.recipients(db, directory.AGENCY)]


@router.post("/v1/agencies/{agency_id}/signing-secrets", status_code=201, response_model=NewSecret, responses=ONE,
             tags=["directory"])
def rotate_agency_secret(agency_id: Agency, rt: RuntimeDep, db: WriteSession, admin: Admin) -> NewSecret:
    return _rotate(db, rt, admin, directory.agency_recipient(agency_id), directory.agency_recipient(agency_id))


@router.post("/v1/key-adults/{staff_id}/password-link", status_code=201, response_model=PasswordLink,
             responses=ONE, tags=["directory"])
def issue_password_link(staff_id: Annotated[StaffRef, Path()], rt: RuntimeDep, db: WriteSession,
                        admin: Admin) -> PasswordLink:
    """A one-time code (and the page's link with it) for the key adult to set their own password on the page:
    shown once, stored only as a hash, usable once until `password_link_minutes` (a newer one replaces it). The
    password itself is never the admin's to know. Audited without the code: who issued it, for whom, when."""
    issued = links.issue(db, PAGES.tables, staff_id, rt.clock(), timedelta(minutes=rt.settings.password_link_minutes))
    if issued is None:
        raise ProblemError(404, "no such key adult")
    code, expires = issued
    rt.audit(db, admin, "key_adult.password_link_issued", f"key_adult:{staff_id}", after={"expires_at": expires})
    db.commit()
    return PasswordLink(code=code, link=f"{rt.settings.page_url.rstrip('/')}/set-password?code={code}",
                        expires_at=expires)
