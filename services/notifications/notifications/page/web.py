"""What every page route shares: the templates and the headers every
response carries, the cookies (HttpOnly, scoped to /page, `Secure` as
`cookie_secure` says; the session cookie has no Max-Age, so it dies with
the browser), the form's fields, the database in worker threads, and the
session check each request makes on the server (`gate`): no session, or
one past its absolute or idle timeout, goes to sign in; a sign-in half
done goes to its next step; a live session's last request is written when
due (the idle timeout counts from there)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cache
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, StrictUndefined
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.clock import Clock
from frontdoor_platform.database import for_writing
from frontdoor_platform.http import in_thread

from ..settings import Settings
from . import csrf, sessions
from .sessions import SignedIn, Stage
from .signin import SignIns
from .throttle import client_address, trusted_proxies

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
    "password-set": "Your password is set. Sign in with it now.",
    "second-factor-set": "Your second factor is set up: each time you sign in, you will be asked for a code "
                         "from your authenticator app.",
    "start-again": "Please sign in again.",
}
# Where a sign-in half done goes next.
NEXT_STEP: Mapping[Stage, str] = {Stage.CODE: f"{PREFIX}/second-factor", Stage.ENROL: f"{PREFIX}/second-factor/new"}
BUSY = "Sign-in is busy just now. Please wait a few seconds and try again."
BUSY_RETRY_AFTER_SECONDS = 2
MAX_STAFF_ID = 64


@cache
def templates() -> Environment:
    return Environment(loader=PackageLoader("notifications.page", "templates"), autoescape=True,
                       undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


@cache
def stylesheet() -> bytes:
    return resources.files("notifications.page").joinpath("static/page.css").read_bytes()


def reading(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(engine) as db:
        return work(db)


def writing(engine: Engine, work: Callable[[Session], T]) -> T:
    with Session(for_writing(engine)) as db:
        result = work(db)
        db.commit()
        return result


def form_value(form: Any, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def staff_id_of(form: Any) -> str:
    return (form_value(form, "staff_id") or "").strip()[:MAX_STAFF_ID]


class Web:
    """The page's plumbing for one app: its settings, sign-ins, cookies and rendering."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.sign_ins = SignIns(settings)
        self.proxies = trusted_proxies(settings)

    @staticmethod
    def plumbing(request: Request) -> tuple[Engine, Clock]:
        auth = request.app.state.auth
        return auth.engine, auth.clock

    def address(self, request: Request) -> str:
        return client_address(request, self.proxies)

    def render(self, template: str, status: int = 200, *, signed: SignedIn | None = None,
               flash: str | None = None, **context: Any) -> HTMLResponse:
        full = signed is not None and signed.stage is Stage.SIGNED_IN
        body = templates().get_template(template).render(
            signed_in=full, csrf_token=signed.csrf_token if signed else "", flash=flash, csrf_field=csrf.FIELD,
            **context)
        return HTMLResponse(body, status_code=status, headers=dict(HEADERS))

    def busy(self, template: str, **context: Any) -> HTMLResponse:
        response = self.render(template, 503, error=BUSY, **context)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @staticmethod
    def redirect(to: str) -> RedirectResponse:
        return RedirectResponse(to, status_code=303, headers=dict(HEADERS))

    def to_sign_in(self, done: str | None = None) -> RedirectResponse:
        return self.redirect(f"{PREFIX}/sign-in" + (f"?done={done}" if done else ""))

    def expired_form(self, signed: SignedIn | None) -> HTMLResponse:
        return self.render("expired.html", 403, signed=signed, title="This form has expired")

    @staticmethod
    def flash_of(request: Request) -> str | None:
        return FLASHES.get(request.query_params.get("done", ""))

    def presession_cookie(self, response: Response, token: str) -> None:
        response.set_cookie(csrf.PRESESSION_COOKIE, token, path=PREFIX, httponly=True, samesite="strict",
                            secure=self.settings.cookie_secure)

    def session_cookie(self, response: Response, token: str) -> None:
        """No Max-Age and no Expires: the browser forgets it when it closes (the server ends it sooner)."""
        response.set_cookie(SESSION_COOKIE, token, path=PREFIX, httponly=True, samesite="lax",
                            secure=self.settings.cookie_secure)

    def forget_cookie(self, response: Response, name: str, samesite: Literal["lax", "strict"]) -> None:
        response.delete_cookie(name, path=PREFIX, httponly=True, samesite=samesite,
                               secure=self.settings.cookie_secure)

    def presession_token(self, request: Request) -> str:
        token = request.cookies.get(csrf.PRESESSION_COOKIE)
        return token if csrf.well_formed(token) and token is not None else csrf.new_token()

    async def session(self, request: Request) -> SignedIn | None:
        """The request's live session, whatever its stage (written as seen when due); None: none, or ended."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        engine, clock = self.plumbing(request)

        def read(db: Session) -> SignedIn | None:
            return sessions.current(db, token, clock(), self.settings)

        found: SignedIn | None = await in_thread(reading, engine, read)
        if found is not None and found.touch:
            await in_thread(writing, engine, lambda db: sessions.touch(db, found.token_hash, clock()))
        return found

    async def gate(self, request: Request) -> SignedIn | Response:
        """A signed-in session, or where to go instead: sign in, or the next step of a sign-in half done."""
        found = await self.session(request)
        if found is None:
            return self.to_sign_in()
        if found.stage is not Stage.SIGNED_IN:
            return self.redirect(NEXT_STEP[found.stage])
        return found


async def page_web(request: Request) -> Web:
    """The app's page plumbing, set on `app.state.page` when the page is installed (`routes.install`)."""
    web: Web = request.app.state.page
    return web


WebDep = Annotated[Web, Depends(page_web)]
