"""The page's routes, under /page and out of the OpenAPI document: sign in
and out, the school's notifications, one notification, its acknowledgement.

Database work runs in worker threads, never on the event loop; the engine
and the clock are the app's (`app.state.auth`). A sign-in goes through the
throttle and the bound on argon2 at once (`signin.py`, `throttle.py`): a
refusal (unknown, wrong or delayed) always reads the same; too many at once
is 503 with Retry-After. Every response
says not to cache it, not to frame it and not to send a referrer. Another
school's notification is "not found", the same as none at all. Nothing
here logs: no staff id, no child."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Any, Literal, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.clock import Clock
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from .. import directory, inbox
from ..settings import Settings
from . import accounts, csrf, views
from .accounts import SignedIn
from .signin import Outcome, SignIns
from .throttle import client_address, trusted_proxies
from .views import Listed, Shown

T = TypeVar("T")
PREFIX = "/page"
SESSION_COOKIE = "fd_page_session"
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
BUSY = "Sign-in is busy just now. Please wait a few seconds and try again."
BUSY_RETRY_AFTER_SECONDS = 2
ERASED = "Details removed after the retention period."
MAX_STAFF_ID = 64


@cache
def _templates() -> Environment:
    return Environment(loader=PackageLoader("notifications.page", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def _stylesheet() -> bytes:
    return resources.files("notifications.page").joinpath("static/page.css").read_bytes()


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
    sign_ins = SignIns(settings)
    proxies = trusted_proxies(settings)
    refusal = refused_text(settings)

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
                    [views.listed(row, now) for row in inbox.of_school(db, signed.school_urn)])

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
        password = (_form_value(form, "password") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
        engine, clock = plumbing(request)
        attempt = await sign_ins.attempt(engine, clock, staff_id, password, client_address(request, proxies))
        if attempt.outcome is Outcome.BUSY:
            busy = render("sign_in.html", 503, title="Sign in", presession=expected or "", error=BUSY,
                          staff_id=staff_id)
            busy.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
            return busy
        if attempt.token is None:
            return render("sign_in.html", 401, title="Sign in", presession=expected or "", error=refusal,
                          staff_id=staff_id)
        response = redirect(f"{PREFIX}/")
        session_cookie(response, attempt.token)
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
            return None if row is None else views.shown(row, now, settings.mash_contact)

        item = await in_thread(_reading, engine, read)
        if item is None:
            return not_found(signed)
        return render("notification.html", signed=signed, flash=flash_of(request), title="Notification",
                      item=item, erased_text=ERASED, mash_contact=settings.mash_contact)

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
