"""The page's routes, under /page and out of the OpenAPI document: sign in
and out, the school's notifications, one notification, its acknowledgement.

Database work (and argon2) runs in worker threads, never on the event loop;
the engine and the clock are the app's (`app.state.auth`). Every response
says not to cache it, not to frame it and not to send a referrer. Another
school's notification is "not found", the same as none at all. Nothing
here logs: no staff id, no child."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.clock import Clock
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from .. import directory, inbox
from ..domain.schools import SchoolNotice, notice_for
from ..models import NotificationRow
from ..settings import Settings
from . import accounts, csrf
from .accounts import SignedIn

T = TypeVar("T")
PREFIX = "/page"
SESSION_COOKIE = "fd_page_session"
LONDON = ZoneInfo("Europe/London")
HEADERS: Mapping[str, str] = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
                                "frame-ancestors 'none'; base-uri 'none'"),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# Flash messages by code (a query parameter): fixed texts, never what the request sent.
FLASHES: Mapping[str, str] = {
    "acknowledged": "You acknowledged this notification. Thank you.",
    "already": "This notification had already been acknowledged.",
    "signed-out": "You have signed out.",
}
REFUSED = ("Sign-in was not possible with those details. Check your staff ID and password. After several "
           "unsuccessful attempts sign-in is paused for a while: if so, try again later.")
ERASED = "Details removed after the retention period."
MAX_STAFF_ID = 64


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("notifications.page", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def _stylesheet() -> bytes:
    return resources.files("notifications.page").joinpath("static/page.css").read_bytes()


def london(moment: datetime | None) -> str:
    """A time as people at the school read it: Europe/London, e.g. "Monday 7 December 2026, 08:45 (GMT)"."""
    if moment is None:
        return "not set"
    local = moment.astimezone(LONDON)
    return f"{local:%A} {local.day} {local:%B %Y, %H:%M} ({local.tzname()})"


def _day(day: date | None) -> str:
    return "not known" if day is None else f"{day.day} {day:%B %Y}"


@dataclass(frozen=True)
class Listed:
    """One line of the school's list."""

    notification_id: str
    child: str | None  # None once erased
    deadline: str
    deadline_iso: str
    state: str
    acknowledged: bool


@dataclass(frozen=True)
class Shown:
    """One notification, as its page shows it."""

    notification_id: str
    notice: SchoolNotice | None  # None once erased
    date_of_birth: str
    incident_at: str
    present: str
    deadline: str
    state: str
    acknowledged: bool
    acknowledged_by: str | None
    acknowledged_at: str | None


def _state(row: NotificationRow, now: datetime) -> str:
    if row.acknowledged_at is not None:
        return "Acknowledged"
    if row.deadline is not None and row.deadline <= now:
        return "Not acknowledged: the deadline has passed"
    return "Not acknowledged"


def _notice(row: NotificationRow, mash_contact: str) -> SchoolNotice | None:
    if (row.erased_at is not None or row.given_name is None or row.family_name is None or row.incident_at is None
            or row.police_reference is None or row.child_present is None):
        return None
    return notice_for(given_name=row.given_name, family_name=row.family_name, date_of_birth=row.date_of_birth,
                      upn=row.upn, incident_at=row.incident_at, police_reference=row.police_reference,
                      present=row.child_present, mash_contact=mash_contact)


def _listed(row: NotificationRow, now: datetime) -> Listed:
    erased = row.erased_at is not None or row.given_name is None
    return Listed(str(row.notification_id), None if erased else f"{row.given_name} {row.family_name}",
                  london(row.deadline), row.deadline.isoformat() if row.deadline else "", _state(row, now),
                  row.acknowledged_at is not None)


def _shown(row: NotificationRow, now: datetime, mash_contact: str) -> Shown:
    notice = _notice(row, mash_contact)
    present = ""
    if notice is not None:
        present = ("Present at the incident" if notice.child_present
                   else "Not present at the incident; normally resident at the address")
    return Shown(str(row.notification_id), notice, _day(notice.date_of_birth if notice else None),
                 london(notice.incident_at if notice else None), present, london(row.deadline), _state(row, now),
                 row.acknowledged_at is not None, row.acknowledged_by,
                 london(row.acknowledged_at) if row.acknowledged_at else None)


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _reading(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine) as db:
        return work(db)


def _writing(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(for_writing(engine)) as db:
        result = work(db)
        db.commit()
        return result


def _form_value(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def router(settings: Settings) -> APIRouter:
    """The page's routes (mount with `app.include_router(router(settings))`)."""
    pages = APIRouter(prefix=PREFIX, include_in_schema=False)

    def plumbing(request: Request) -> tuple[Engine, Clock]:
        auth = request.app.state.auth
        return auth.engine, auth.clock

    def render(template: str, status: int = 200, *, signed: SignedIn | None = None, flash: str | None = None,
               **context: Any) -> HTMLResponse:
        body = _templates().get_template(template).render(
            signed_in=signed is not None, csrf_token=signed.csrf_token if signed else "", flash=flash,
            csrf_field=csrf.FIELD, **context)
        return HTMLResponse(body, status_code=status, headers=dict(HEADERS))

    def redirect(to: str) -> RedirectResponse:
        return RedirectResponse(to, status_code=303, headers=dict(HEADERS))

    def to_sign_in() -> RedirectResponse:
        return redirect(f"{PREFIX}/sign-in")

    def not_found(signed: SignedIn | None) -> HTMLResponse:
        return render("not_found.html", 404, signed=signed, title="Page not found")

    def refused(signed: SignedIn | None) -> HTMLResponse:
        return render("expired.html", 403, signed=signed, title="This form has expired")

    async def signed_in(request: Request) -> SignedIn | None:
        engine, clock = plumbing(request)
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        return await in_thread(_reading, engine, lambda db: accounts.session_of(db, token, clock()))

    def flash_of(request: Request) -> str | None:
        return FLASHES.get(request.query_params.get("done", ""))

    def wake_relay(request: Request) -> None:
        """Publish the acknowledgement now when this process runs the outbox relay (else the worker polls)."""
        relay = getattr(getattr(request.app.state, "runtime", None), "relay", None)
        wake = getattr(relay, "wake", None)
        if callable(wake):
            wake()

    def presession_cookie(response: Response, token: str) -> None:
        response.set_cookie(csrf.PRESESSION_COOKIE, token, path=PREFIX, httponly=True, samesite="strict",
                            secure=settings.cookie_secure)

    def session_cookie(response: Response, token: str) -> None:
        response.set_cookie(SESSION_COOKIE, token, max_age=int(settings.session_hours * 3600), path=PREFIX,
                            httponly=True, samesite="lax", secure=settings.cookie_secure)

    def forget_cookie(response: Response, name: str, samesite: Literal["lax", "strict"]) -> None:
        response.delete_cookie(name, path=PREFIX, httponly=True, samesite=samesite, secure=settings.cookie_secure)

    @pages.get("/static/page.css")
    async def stylesheet() -> Response:
        return Response(_stylesheet(), media_type="text/css", headers=dict(HEADERS))

    @pages.get("/")
    async def school_notifications(request: Request) -> Response:
        signed = await signed_in(request)
        if signed is None:
            return to_sign_in()
        engine, clock = plumbing(request)
        now = clock()

        def read(db: Session) -> tuple[str, list[Listed]]:
            school = directory.school(db, signed.school_urn)
            return (school.name if school else signed.school_urn,
                    [_listed(row, now) for row in inbox.of_school(db, signed.school_urn)])

        school_name, items = await in_thread(_reading, engine, read)
        return render("inbox.html", signed=signed, flash=flash_of(request), title="Notifications",
                      school_name=school_name, items=items,
                      waiting=sum(1 for item in items if not item.acknowledged))

    @pages.get("/sign-in")
    async def sign_in_form(request: Request) -> Response:
        if await signed_in(request) is not None:
            return redirect(f"{PREFIX}/")
        token = request.cookies.get(csrf.PRESESSION_COOKIE)
        if not csrf.well_formed(token) or token is None:
            token = csrf.new_token()
        response = render("sign_in.html", flash=flash_of(request), title="Sign in", presession=token, error=None,
                          staff_id="")
        presession_cookie(response, token)
        return response

    @pages.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(csrf.PRESESSION_COOKIE)
        if not csrf.matches(expected, _form_value(form, csrf.FIELD)):
            return refused(None)
        staff_id = (_form_value(form, "staff_id") or "").strip()[:MAX_STAFF_ID]
        password = _form_value(form, "password") or ""
        engine, clock = plumbing(request)

        def attempt(db: Session) -> str | None:
            now = clock()
            adult = accounts.sign_in(db, staff_id, password[:accounts.MAX_PASSWORD_LENGTH + 1], now, settings)
            if adult is None:
                return None
            token, _ = accounts.start_session(db, adult, now, settings)
            return token

        token = await in_thread(_writing, engine, attempt)
        if token is None:
            return render("sign_in.html", 401, title="Sign in", presession=expected or "", error=REFUSED,
                          staff_id=staff_id)
        response = redirect(f"{PREFIX}/")
        session_cookie(response, token)
        forget_cookie(response, csrf.PRESESSION_COOKIE, "strict")
        return response

    @pages.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        signed = await signed_in(request)
        if signed is None:
            response = to_sign_in()
        else:
            form = await request.form()
            if not csrf.matches(signed.csrf_token, _form_value(form, csrf.FIELD)):
                return refused(signed)
            engine, _ = plumbing(request)
            token = request.cookies.get(SESSION_COOKIE)
            await in_thread(_writing, engine, lambda db: accounts.end_session(db, token))
            response = redirect(f"{PREFIX}/sign-in?done=signed-out")
        forget_cookie(response, SESSION_COOKIE, "lax")
        return response

    @pages.get("/notifications/{notification_id}")
    async def notification(request: Request, notification_id: str) -> Response:
        signed = await signed_in(request)
        if signed is None:
            return to_sign_in()
        wanted = _parse_id(notification_id)
        if wanted is None:
            return not_found(signed)
        engine, clock = plumbing(request)
        now = clock()

        def read(db: Session) -> Shown | None:
            row = inbox.one_of_school(db, signed.school_urn, wanted)
            return None if row is None else _shown(row, now, settings.mash_contact)

        shown = await in_thread(_reading, engine, read)
        if shown is None:
            return not_found(signed)
        return render("notification.html", signed=signed, flash=flash_of(request), title="Notification",
                      item=shown, erased_text=ERASED, mash_contact=settings.mash_contact)

    @pages.post("/notifications/{notification_id}/acknowledgement")
    async def acknowledgement(request: Request, notification_id: str) -> Response:
        signed = await signed_in(request)
        if signed is None:
            return to_sign_in()
        form = await request.form()
        if not csrf.matches(signed.csrf_token, _form_value(form, csrf.FIELD)):
            return refused(signed)
        wanted = _parse_id(notification_id)
        if wanted is None:
            return not_found(signed)
        engine, clock = plumbing(request)

        def acknowledge(db: Session) -> bool | None:
            row = inbox.one_of_school(db, signed.school_urn, wanted)
            if row is None:
                return None
            return inbox.acknowledge(db, row, by=signed.staff_id, now=clock(), source_uri=settings.source_uri)

        done = await in_thread(_writing, engine, acknowledge)
        if done is None:
            return not_found(signed)
        if done:
            wake_relay(request)
        return redirect(f"{PREFIX}/notifications/{wanted}?done={'acknowledged' if done else 'already'}")

    return pages
