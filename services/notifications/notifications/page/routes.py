"""The page's routes, under /page and out of the OpenAPI document: sign in
and out, the school's notifications, one notification, its acknowledgement;
setting a password with a one-time code and the second factor are in
`account_routes.py`. `install` puts both on an app, with the app's one
`Web` (its sign-in throttle and its bound on argon2) on `app.state.page`.

Database work runs in worker threads, never on the event loop; the engine
and the clock are the app's (`app.state.auth`). A sign-in goes through the
throttle and the bound on argon2 at once (`signin.py`, `throttle.py`): a
refusal (unknown, wrong or delayed) always reads the same; too many at once
is 503 with Retry-After. Every request's session is checked on the server
(`web.Web.gate`: absolute and idle timeouts, its key adult still there).
Every response says not to cache it, not to frame it and not to send a
referrer. Another school's notification is "not found", the same as none
at all. Nothing here logs: no staff id, no child. The list and a
notification are in the read log (who: `staff:<staff id>`; what: the
notifications and children by id; the route) before they are shown; when
the log cannot be written the page says so (503 with Retry-After) and shows
nothing of them."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from frontdoor_platform import audit, reads
from frontdoor_platform.http import in_thread
from frontdoor_platform.problems import ProblemError

from .. import directory, inbox
from ..access import audit_trail
from ..models import NotificationRow, ReadEntry
from ..settings import Settings
from . import account_routes, accounts, csrf, sessions, views
from .sessions import SignedIn
from .signin import Outcome
from .views import Listed, Shown
from .web import (
    HEADERS,
    NEXT_STEP,
    PREFIX,
    SESSION_COOKIE,
    Web,
    WebDep,
    form_value,
    reading,
    staff_id_of,
    stylesheet,
    writing,
)

ERASED = "Details removed: the retention period ended, or the child's personal data was erased."
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def install(app: FastAPI, settings: Settings) -> None:
    """The page on `app`: its plumbing (one per app) and its routes."""
    app.state.page = Web(settings)
    app.include_router(router)
    app.include_router(account_routes.router)


def refused_text(settings: Settings) -> str:
    """The one answer to an unknown staff id, a wrong password and an attempt made too soon."""
    most = settings.page_delay_max_seconds
    longest = f"{most / 60:g} minutes" if most >= 120 else f"{most:g} seconds"
    return ("Sign-in was not possible with those details. Check your staff ID and password, then wait and try "
            f"again: after a few unsuccessful attempts each one makes the next wait longer, up to {longest}.")


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _not_found(web: Web, signed: SignedIn | None) -> HTMLResponse:
    return web.render("not_found.html", 404, signed=signed, title="Page not found")


def _records(rows: list[NotificationRow]) -> list[str]:
    return [record for row in rows for record in (
        reads.record_of("notification", row.notification_id),
        *([reads.record_of("person", row.child_id)] if row.child_id else []))]


async def _unlogged(request: Request, web: Web, signed: SignedIn, rows: list[NotificationRow]) -> Response | None:
    """Record what the key adult is about to see; the "not available" page (503) when the read log cannot."""
    try:
        await reads.staff_reads(request, ReadEntry, signed.staff_id).shown(_records(rows))
    except ProblemError:
        response = web.render("unavailable.html", 503, signed=signed, title="Not available just now")
        response.headers["Retry-After"] = "1"
        return response
    return None


def _wake_relay(request: Request) -> None:
    """Publish the acknowledgement now when this process runs the outbox relay (else the worker polls)."""
    relay = getattr(getattr(request.app.state, "runtime", None), "relay", None)
    wake = getattr(relay, "wake", None)
    if callable(wake):
        wake()


@router.get("/static/page.css")
async def page_stylesheet() -> Response:
    return Response(stylesheet(), media_type="text/css", headers=dict(HEADERS))


@router.get("/")
async def school_notifications(request: Request, web: WebDep) -> Response:
    signed = await web.gate(request)
    if not isinstance(signed, SignedIn):
        return signed
    engine, clock = web.plumbing(request)
    now = clock()

    def read(db: Session) -> tuple[str, list[Listed], list[NotificationRow]]:
        school = directory.school(db, signed.school_urn)
        rows = list(inbox.of_school(db, signed.school_urn))
        return school.name if school else signed.school_urn, [views.listed(row, now) for row in rows], rows

    school_name, items, rows = await in_thread(reading, engine, read)
    refused = await _unlogged(request, web, signed, rows)
    if refused is not None:
        return refused
    return web.render("inbox.html", signed=signed, flash=web.flash_of(request), title="Notifications",
                      school_name=school_name, items=items, enrolled=signed.enrolled,
                      waiting=sum(1 for item in items if not item.acknowledged))


@router.get("/sign-in")
async def sign_in_form(request: Request, web: WebDep) -> Response:
    found = await web.session(request)
    if found is not None:
        return web.redirect(NEXT_STEP.get(found.stage, f"{PREFIX}/"))
    token = web.presession_token(request)
    response = web.render("sign_in.html", flash=web.flash_of(request), title="Sign in", presession=token,
                          error=None, staff_id="")
    web.presession_cookie(response, token)
    return response


@router.post("/sign-in")
async def sign_in(request: Request, web: WebDep) -> Response:
    form = await request.form()
    expected = request.cookies.get(csrf.PRESESSION_COOKIE)
    if not csrf.matches(expected, form_value(form, csrf.FIELD)):
        return web.expired_form(None)
    staff_id = staff_id_of(form)
    password = (form_value(form, "password") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
    engine, clock = web.plumbing(request)
    attempt = await web.sign_ins.attempt(engine, clock, staff_id, password, web.address(request))
    if attempt.outcome is Outcome.BUSY:
        return web.busy("sign_in.html", title="Sign in", presession=expected or "", staff_id=staff_id)
    if attempt.token is None:
        return web.render("sign_in.html", 401, title="Sign in", presession=expected or "",
                          error=refused_text(web.settings), staff_id=staff_id)
    response = web.redirect(NEXT_STEP.get(attempt.stage, f"{PREFIX}/"))
    web.session_cookie(response, attempt.token)
    web.forget_cookie(response, csrf.PRESESSION_COOKIE, "strict")
    return response


@router.post("/sign-out")
async def sign_out(request: Request, web: WebDep) -> Response:
    signed = await web.session(request)  # a sign-in half done may be abandoned too
    if signed is None:
        response = web.to_sign_in()
    else:
        form = await request.form()
        if not csrf.matches(signed.csrf_token, form_value(form, csrf.FIELD)):
            return web.expired_form(signed)
        engine, _ = web.plumbing(request)
        token = request.cookies.get(SESSION_COOKIE)
        await in_thread(writing, engine, lambda db: sessions.end(db, token))
        response = web.to_sign_in("signed-out")
    web.forget_cookie(response, SESSION_COOKIE, "lax")
    return response


@router.get("/notifications/{notification_id}")
async def notification(request: Request, notification_id: str, web: WebDep) -> Response:
    signed = await web.gate(request)
    if not isinstance(signed, SignedIn):
        return signed
    wanted = _parse_id(notification_id)
    if wanted is None:
        return _not_found(web, signed)
    engine, clock = web.plumbing(request)
    now, mash_contact = clock(), web.settings.mash_contact

    def read(db: Session) -> tuple[Shown, NotificationRow] | None:
        row = inbox.one_of_school(db, signed.school_urn, wanted)
        return None if row is None else (views.shown(row, now, mash_contact), row)

    found = await in_thread(reading, engine, read)
    if found is None:
        return _not_found(web, signed)
    item, row = found
    refused = await _unlogged(request, web, signed, [row])
    if refused is not None:
        return refused
    return web.render("notification.html", signed=signed, flash=web.flash_of(request), title="Notification",
                      item=item, erased_text=ERASED, mash_contact=mash_contact)


@router.post("/notifications/{notification_id}/acknowledgement")
async def acknowledgement(request: Request, notification_id: str, web: WebDep) -> Response:
    signed = await web.gate(request)
    if not isinstance(signed, SignedIn):
        return signed
    form = await request.form()
    if not csrf.matches(signed.csrf_token, form_value(form, csrf.FIELD)):
        return web.expired_form(signed)
    wanted = _parse_id(notification_id)
    if wanted is None:
        return _not_found(web, signed)
    engine, clock = web.plumbing(request)
    source_uri = web.settings.source_uri

    def acknowledge(db: Session) -> bool | None:
        row = inbox.one_of_school(db, signed.school_urn, wanted)
        if row is None:
            return None
        done = inbox.acknowledge(db, row, by=signed.staff_id, now=clock(), source_uri=source_uri)
        if done:  # the key adult's own change: audited as theirs, in its transaction
            audit_trail(source_uri).record(db, audit.staff_actor(signed.staff_id), "notification.acknowledged",
                                           f"notification:{wanted}", None, None, clock())
        return done

    done = await in_thread(writing, engine, acknowledge)
    if done is None:
        return _not_found(web, signed)
    if done:
        _wake_relay(request)
    return web.redirect(f"{PREFIX}/notifications/{wanted}?done={'acknowledged' if done else 'already'}")
