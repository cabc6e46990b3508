"""`StaffPages`: one service's staff pages, signed in with the kit's
machinery (accounts, sessions, CSRF, throttle, second factor, set-password
links; see the package's docstring).

Made where the service's page routes are declared (no I/O: nothing is
built until `install`), installed on each app by its composition root. Its
dependencies give a route the signed-in `Staff` or send the browser where
it should go instead: `signed_in` (no live session: to sign in; a sign-in
half done: to its next step) and `signed_in_with_csrf` (the same, and a
POST whose form lacks the session's CSRF token is refused with a 403 page
saying what to do). `render` gives a template with the headers every page
carries (no caching, no framing, no referrer, a strict CSP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment
from sqlalchemy.engine import Engine

from .. import audit
from ..clock import Clock
from ..http import in_thread
from . import csrf, sessions
from .config import StaffConfig
from .second_factor import Sealer
from .sessions import Staff, Stage
from .signin import Book, Required, SignIns
from .tables import StaffAccountBase, StaffLinkFields, StaffSessionFields, StaffTables
from .throttle import client_address, trusted_proxies
from .web import HEADERS, Web, environment, form_value, reading, writing

REFRESHED = "refreshed"  # the query parameter of a page's own periodic reload

BUSY = "Sign-in is busy just now. Please wait a few seconds and try again."
BUSY_RETRY_AFTER_SECONDS = 2
FLASHES: Mapping[str, str] = {  # by code (a query parameter): fixed texts, never what the request sent
    "signed-out": "You have signed out.",
    "password-set": "Your password is set. Sign in with it now.",
    "second-factor-set": "Your second factor is set up: each time you sign in, you will be asked for a code "
                         "from your authenticator app.",
    "start-again": "Please sign in again.",
}


@dataclass(frozen=True)
class StaffTexts:
    """What the kit's pages say that is the service's own."""

    sign_in_intro: str = "Sign in with your staff ID and password."
    ask: str = "your service's administrator"  # who gives set-password links and replaces a lost app
    enrol_required: str = ("This service asks everyone to sign in with a code from an authenticator app as well "
                           "as a password.")
    footer: str = "These pages hold OFFICIAL-SENSITIVE information: do not share or print them. Sign out when you " \
                  "have finished."
    home: str = "Go to the start page"


class Elsewhere(Exception):
    """Raised by a dependency: answer with this response instead (a redirect, or an error page)."""

    def __init__(self, response: Response):
        super().__init__("elsewhere")
        self.response = response


async def _elsewhere(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Elsewhere)
    return exc.response


@dataclass(eq=False)
class StaffPages:
    prefix: str
    title: str
    accounts: type[StaffAccountBase]
    sessions: type[StaffSessionFields]
    links: type[StaffLinkFields]
    roles: type[Enum] | None = None  # the service's roles (`accounts add --role` checks against them)
    templates: str | None = None  # the package whose templates/ holds the service's pages
    sealing: Any = None  # settings -> Sealer: second factors offered (None: not offered)
    second_factor_required: Required | None = None
    audit_subject: str = "staff"  # audited as "<subject>.password_set" on "<subject>:<staff id>"
    texts: StaffTexts = field(default_factory=StaffTexts)
    flashes: Mapping[str, str] = field(default_factory=dict)  # the service's own flash codes
    issuer: str | None = None  # the name authenticator apps show for a second factor (None: the title)

    @property
    def tables(self) -> StaffTables:
        return StaffTables(self.accounts, self.sessions, self.links)

    @property
    def home(self) -> str:
        return f"{self.prefix}/"

    @property
    def cookie(self) -> str:
        return f"fd_{self.prefix.strip('/').replace('/', '_') or 'staff'}_session"

    @property
    def presession_cookie(self) -> str:
        return f"fd_{self.prefix.strip('/').replace('/', '_') or 'staff'}_signin"

    @cached_property
    def env(self) -> Environment:
        return environment(self.templates)

    # -- installing ---------------------------------------------------------------------------------------------
    def install(self, app: FastAPI, settings: Any) -> None:
        """On `app`: the sign-in, sign-out, set-password and second-factor routes, the stylesheet, the error
        pages' handler, and this app's throttle and argon2 bound. Engine and clock: `app.state.auth`'s."""
        from .errors import install_error_pages
        from .routes import router_for

        config = StaffConfig.of(settings)
        trail = audit.trail_beside(self.accounts, config.source_uri)
        subject = self.audit_subject

        def record(db: Any, action: str, staff_id: str, now: Any) -> None:
            if trail is not None:
                trail.record(db, audit.staff_actor(staff_id), f"{subject}.{action}", f"{subject}:{staff_id}", None,
                             None, now)

        book = Book(self.tables, config, self.second_factor_required, record)
        sealer: Sealer | None = self.sealing(settings) if self.sealing is not None else None
        webs: dict[str, Web] = getattr(app.state, "staff_pages", None) or {}
        webs[self.prefix] = Web(config, settings, SignIns(book), trusted_proxies(config), sealer)
        app.state.staff_pages = webs
        app.add_exception_handler(Elsewhere, _elsewhere)
        install_error_pages(app, self)
        app.include_router(router_for(self))

    def web(self, request: Request) -> Web:
        found: Web = request.app.state.staff_pages[self.prefix]
        return found

    @staticmethod
    def plumbing(request: Request) -> tuple[Engine, Clock]:
        auth = request.app.state.auth
        return auth.engine, auth.clock

    def address(self, request: Request) -> str:
        return client_address(request, self.web(request).proxies)

    # -- who is signed in ---------------------------------------------------------------------------------------
    async def session(self, request: Request) -> Staff | None:
        """The request's live session, whatever its stage (written as seen when due); None: none, or ended."""
        token = request.cookies.get(self.cookie)
        if not token:
            return None
        engine, clock = self.plumbing(request)
        config, tables = self.web(request).config, self.tables
        found: Staff | None = await in_thread(
            reading, engine, lambda db: sessions.current(db, tables, token, clock(), config))
        # A page reloading itself (`refresh_seconds`: its URL carries REFRESHED) is no one at the keyboard: it
        # never extends the idle timeout, so a board left open on a projector signs out like any other.
        if found is not None and found.touch and REFRESHED not in request.query_params:
            await in_thread(writing, engine, lambda db: sessions.touch(db, tables, found.token_hash, clock()))
        return found

    def next_step(self, stage: Stage) -> str:
        """Where a session at `stage` goes next."""
        return {Stage.CODE: f"{self.prefix}/second-factor",
                Stage.ENROL: f"{self.prefix}/second-factor/new"}.get(stage, self.home)

    async def signed_in(self, request: Request) -> Staff:
        """A dependency: the signed-in staff member, or (raised) where to go instead: sign in, or the next step
        of a sign-in half done."""
        found = await self.session(request)
        if found is None:
            raise Elsewhere(self.to_sign_in())
        if found.stage is not Stage.SIGNED_IN:
            raise Elsewhere(self.redirect(self.next_step(found.stage)))
        return found

    async def signed_in_with_csrf(self, request: Request) -> Staff:
        """`signed_in`, and the form's CSRF token is the session's (else a 403 page: the form has expired)."""
        staff = await self.signed_in(request)
        await self.check_csrf(request, staff)
        return staff

    def with_roles(self, *roles: str, csrf_checked: bool = False) -> Callable[[Request], Awaitable[Staff]]:
        """A dependency: `signed_in` (or `signed_in_with_csrf`), and one of `roles` held, else a 403 page."""
        wanted = frozenset(str(role) for role in roles)

        async def dependency(request: Request) -> Staff:
            staff = await (self.signed_in_with_csrf if csrf_checked else self.signed_in)(request)
            if not staff.roles & wanted:
                raise Elsewhere(self.error(request, 403, "You cannot use this page", "Your account does not "
                                           f"have the role this page needs. If you should, ask {self.texts.ask}.",
                                           staff=staff))
            return staff

        return dependency

    async def check_csrf(self, request: Request, staff: Staff) -> None:
        form = await request.form()
        if not csrf.matches(staff.csrf_token, form_value(form, csrf.FIELD)):
            raise Elsewhere(self.expired_form(request, staff))

    # -- answers ------------------------------------------------------------------------------------------------
    def render(self, request: Request, template: str, status: int = 200, *, staff: Staff | None = None,
               flash: str | None = None, **context: Any) -> HTMLResponse:
        """A page: `template` (the service's, extending "staff_base.html") with who is signed in, the CSRF
        field, the flash message the URL's `done` names, and `context`."""
        full = staff is not None and staff.stage is Stage.SIGNED_IN
        context.setdefault("title", self.title)
        if context.get("refresh_seconds"):
            again = request.url.include_query_params(**{REFRESHED: "1"})  # this page, as a path (whatever the proxy)
            context.setdefault("refresh_url", f"{again.path}?{again.query}")
        body = self.env.get_template(template).render(
            service_title=self.title, prefix=self.prefix, home=self.home, texts=self.texts, signed_in=full,
            staff=staff if full else None, csrf_token=staff.csrf_token if staff else "", csrf_field=csrf.FIELD,
            flash=flash if flash is not None else self.flash_of(request), **context)
        return HTMLResponse(body, status_code=status, headers=dict(HEADERS))

    def flash_of(self, request: Request) -> str | None:
        done = request.query_params.get("done", "")
        return self.flashes.get(done) or FLASHES.get(done)

    def error(self, request: Request, status: int, heading: str, message: str, *, staff: Staff | None = None,
              retry_after: int | None = None) -> HTMLResponse:
        """An error page that says what happened and what to do (`staff_error.html`)."""
        response = self.render(request, "staff_error.html", status, staff=staff, title=heading, heading=heading,
                               message=message, flash="")
        if retry_after is not None:
            response.headers["Retry-After"] = str(retry_after)
        return response

    def not_found(self, request: Request, staff: Staff | None = None) -> HTMLResponse:
        return self.error(request, 404, "Page not found", "There is nothing at this address for you. If you "
                          "typed the web address, check it is correct.", staff=staff)

    def unavailable(self, request: Request, staff: Staff | None = None) -> HTMLResponse:
        return self.error(request, 503, "Not available just now", "This page cannot be shown at the moment. "
                          "Nothing is wrong with your account: please try again in a minute.", staff=staff,
                          retry_after=1)

    def expired_form(self, request: Request, staff: Staff | None) -> HTMLResponse:
        return self.error(request, 403, "This form has expired", "For your security the form could not be "
                          "accepted. Go back to the page, reload it and try again.", staff=staff)

    def busy(self, request: Request, template: str, **context: Any) -> HTMLResponse:
        response = self.render(request, template, 503, error=BUSY, **context)
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER_SECONDS)
        return response

    @staticmethod
    def redirect(to: str) -> RedirectResponse:
        return RedirectResponse(to, status_code=303, headers=dict(HEADERS))

    def to_sign_in(self, done: str | None = None) -> RedirectResponse:
        return self.redirect(f"{self.prefix}/sign-in" + (f"?done={done}" if done else ""))

    # -- cookies ------------------------------------------------------------------------------------------------
    def set_presession(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(self.presession_cookie, token, path=self.prefix, httponly=True, samesite="strict",
                            secure=self.web(request).config.cookie_secure)

    def set_session(self, request: Request, response: Response, token: str) -> None:
        """No Max-Age and no Expires: the browser forgets it when it closes (the server ends it sooner)."""
        response.set_cookie(self.cookie, token, path=self.prefix, httponly=True, samesite="lax",
                            secure=self.web(request).config.cookie_secure)

    def forget_cookie(self, request: Request, response: Response, name: str,
                      samesite: Literal["lax", "strict"]) -> None:
        response.delete_cookie(name, path=self.prefix, httponly=True, samesite=samesite,
                               secure=self.web(request).config.cookie_secure)

    def presession_token(self, request: Request) -> str:
        token = request.cookies.get(self.presession_cookie)
        return token if csrf.well_formed(token) and token is not None else csrf.new_token()
