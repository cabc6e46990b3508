"""The second factor's routes under a `StaffPages` prefix (installed when
the pages are given a sealer): a TOTP code after the password
(`/second-factor`) and enrolling one (`/second-factor/new`: the secret
shown once, confirmed by a first code; `second_factor.py`). Every form
carries the session's CSRF token; codes go through the sign-in throttle;
a sign-in half done is upgraded to a signed-in session with a new token.
Nothing here logs, and no answer echoes a code."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from ..clock import Clock
from ..http import in_thread
from . import csrf, second_factor, sessions, totp
from .second_factor import Sealer
from .sessions import Staff, Stage
from .signin import Outcome
from .web import code_of, form_value, writing

if TYPE_CHECKING:
    from .pages import StaffPages

CODE_REFUSED = ("That code did not work. Enter the code your authenticator app shows now; after a few unsuccessful "
                "attempts each one makes the next wait longer.")
ENROL = "staff_enrol.html"
CODE = "staff_second_factor.html"


def grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def add_second_factor(router: APIRouter, pages: StaffPages) -> None:
    tables = pages.tables

    def sealer(request: Request) -> Sealer:
        found = pages.web(request).sealer
        assert found is not None  # these routes exist only with one
        return found

    async def pending(request: Request, *stages: Stage) -> Staff | Response:
        """The session, if at one of `stages`; else where it should be (sign in, its next step, home)."""
        found = await pages.session(request)
        if found is None:
            return pages.to_sign_in()
        if found.stage not in stages:
            return pages.redirect(pages.next_step(found.stage))
        return found

    def checking(request: Request, signed: Staff, code: str, clock: Clock,
                 enrolling: bool) -> Callable[[Session], bool]:
        """The database step that tells whether `code` is right: confirming an enrolment (audited, as the
        owner's own change, never the secret), or the second step of a sign-in."""
        keys, book = sealer(request), pages.web(request).sign_ins.book

        def work(db: Session) -> bool:
            if not enrolling:
                return second_factor.check(db, tables, signed, code, clock(), keys)
            enrolled = second_factor.confirm(db, tables, signed, code, clock(), keys)
            if enrolled and book.record is not None:
                book.record(db, "second_factor_enrolled", signed.staff_id, clock())
            return enrolled

        return work

    async def code_step(request: Request, signed: Staff, template: str, **context: Any) -> Response:
        """A TOTP code from the form, through the throttle. Right: a sign-in half done becomes a signed-in
        session (a new token)."""
        form = await request.form()
        if not csrf.matches(signed.csrf_token, form_value(form, csrf.FIELD)):
            return pages.expired_form(request, signed)
        engine, clock = pages.plumbing(request)
        web, enrolling = pages.web(request), template == ENROL
        check = checking(request, signed, code_of(form), clock, enrolling)
        tried: list[bool] = []

        async def right() -> bool:
            tried.append(True)
            return await in_thread(writing, engine, check)

        outcome = await web.sign_ins.second_factor(clock, signed.staff_id, pages.address(request), right)
        if outcome is Outcome.BUSY:
            return pages.busy(request, template, staff=signed, title="Second factor", **context)
        if outcome is Outcome.REFUSED:
            still = await in_thread(writing, engine, lambda db: sessions.wrong_code(db, tables, signed.token_hash)) \
                if tried else True
            if not still:
                response = pages.to_sign_in("start-again")
                pages.forget_cookie(request, response, pages.cookie, "lax")
                return response
            return pages.render(request, template, 401, staff=signed, title="Second factor", error=CODE_REFUSED,
                                **context)
        if signed.stage is Stage.SIGNED_IN:
            return pages.redirect(f"{pages.home}?done=second-factor-set")
        upgraded = await in_thread(writing, engine,
                                   lambda db: sessions.upgrade(db, tables, signed, clock(), web.config))
        if upgraded is None:
            return pages.to_sign_in("start-again")
        response = pages.redirect(f"{pages.home}?done=second-factor-set" if enrolling else pages.home)
        pages.set_session(request, response, upgraded[0])
        return response

    @router.get("/second-factor")
    async def code_form(request: Request) -> Response:
        signed = await pending(request, Stage.CODE)
        if not isinstance(signed, Staff):
            return signed
        return pages.render(request, CODE, staff=signed, title="Second factor", error=None)

    @router.post("/second-factor")
    async def code_given(request: Request) -> Response:
        signed = await pending(request, Stage.CODE)
        if not isinstance(signed, Staff):
            return signed
        return await code_step(request, signed, CODE)

    @router.get("/second-factor/new")
    async def enrol_form(request: Request) -> Response:
        signed = await pending(request, Stage.ENROL, Stage.SIGNED_IN)
        if not isinstance(signed, Staff):
            return signed
        engine, _ = pages.plumbing(request)
        keys = sealer(request)
        secret = await in_thread(writing, engine, lambda db: second_factor.hold(db, tables, signed, keys))
        if secret is None:
            return pages.to_sign_in()
        uri = totp.provisioning_uri(secret, signed.staff_id, pages.issuer or pages.title)
        return pages.render(request, ENROL, staff=signed, title="Set up a second factor", error=None, shown=True,
                            secret=grouped(secret), uri=uri, required=signed.stage is Stage.ENROL)

    @router.post("/second-factor/new")
    async def enrol_confirmed(request: Request) -> Response:
        signed = await pending(request, Stage.ENROL, Stage.SIGNED_IN)
        if not isinstance(signed, Staff):
            return signed
        return await code_step(request, signed, ENROL, shown=False, secret="", uri="",
                               required=signed.stage is Stage.ENROL)
