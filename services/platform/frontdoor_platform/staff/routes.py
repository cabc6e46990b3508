"""The kit's own routes under a `StaffPages` prefix, out of the OpenAPI
document: the stylesheet, sign in and out, setting a password with a
one-time code (`/set-password`, and `/password/{code}` with the code
filled in); the second factor's routes are in `factor_routes.py`.

A sign-in goes through the throttle and the bound on argon2 at once
(`signin.py`, `throttle.py`): a refusal (unknown, wrong or delayed) always
reads the same; too many at once is 503 with Retry-After. Every form
carries a CSRF token (before a session: the double-submit cookie). Nothing
here logs, and no answer echoes a password or a code."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from ..http import in_thread
from . import accounts, csrf, sessions
from .signin import Outcome
from .web import HEADERS, MAX_CODE, code_of, form_value, staff_id_of, writing

if TYPE_CHECKING:
    from .pages import StaffPages

NOT_THE_SAME = "The two passwords are not the same."


@cache
def stylesheet() -> bytes:
    return resources.files("frontdoor_platform.staff").joinpath("static/staff.css").read_bytes()


def refused_text(most: float) -> str:
    """The one answer to an unknown staff id, a wrong password and an attempt made too soon."""
    longest = f"{most / 60:g} minutes" if most >= 120 else f"{most:g} seconds"
    return ("Sign-in was not possible with those details. Check your staff ID and password, then wait and try "
            f"again: after a few unsuccessful attempts each one makes the next wait longer, up to {longest}.")


def link_refused(ask: str) -> str:
    return ("That did not work: the code may have been used already, replaced by a newer one or expired, or "
            "the staff ID is not the one it was given for; after a few unsuccessful attempts each one makes "
            f"the next wait longer. If it keeps failing, ask {ask} for a new one.")


def router_for(pages: StaffPages) -> APIRouter:
    """The routes of `pages` (one router per installed StaffPages)."""
    from .factor_routes import add_second_factor

    router = APIRouter(prefix=pages.prefix, include_in_schema=False)

    @router.get("/static/staff.css")
    async def staff_stylesheet() -> Response:
        return Response(stylesheet(), media_type="text/css", headers=dict(HEADERS))

    @router.get("/sign-in")
    async def sign_in_form(request: Request) -> Response:
        found = await pages.session(request)
        if found is not None:
            return pages.redirect(pages.next_step(found.stage))
        token = pages.presession_token(request)
        response = pages.render(request, "staff_sign_in.html", title="Sign in", presession=token, error=None,
                                staff_id="")
        pages.set_presession(request, response, token)
        return response

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(pages.presession_cookie)
        if not csrf.matches(expected, form_value(form, csrf.FIELD)):
            return pages.expired_form(request, None)
        staff_id = staff_id_of(form)
        password = (form_value(form, "password") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
        engine, clock = pages.plumbing(request)
        web = pages.web(request)
        attempt = await web.sign_ins.attempt(engine, clock, staff_id, password, pages.address(request))
        context: dict[str, Any] = {"title": "Sign in", "presession": expected or "", "staff_id": staff_id,
                                   "flash": ""}
        if attempt.outcome is Outcome.BUSY:
            return pages.busy(request, "staff_sign_in.html", **context)
        if attempt.token is None:
            return pages.render(request, "staff_sign_in.html", 401,
                                error=refused_text(web.config.page_delay_max_seconds), **context)
        response = pages.redirect(pages.next_step(attempt.stage))
        pages.set_session(request, response, attempt.token)
        pages.forget_cookie(request, response, pages.presession_cookie, "strict")
        return response

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        signed = await pages.session(request)  # a sign-in half done may be abandoned too
        if signed is None:
            response = pages.to_sign_in()
        else:
            form = await request.form()
            if not csrf.matches(signed.csrf_token, form_value(form, csrf.FIELD)):
                return pages.expired_form(request, signed)
            engine, _ = pages.plumbing(request)
            token, tables = request.cookies.get(pages.cookie), pages.tables
            await in_thread(writing, engine, lambda db: sessions.end(db, tables, token))
            response = pages.to_sign_in("signed-out")
        pages.forget_cookie(request, response, pages.cookie, "lax")
        return response

    def password_form(request: Request, code: str) -> Response:
        token = pages.presession_token(request)
        response = pages.render(request, "staff_set_password.html", title="Set your password", presession=token,
                                error=None, staff_id="", code=code[:MAX_CODE],
                                shortest=accounts.MIN_PASSWORD_LENGTH)
        pages.set_presession(request, response, token)
        return response

    @router.get("/set-password")
    async def set_password_form(request: Request) -> Response:
        return password_form(request, request.query_params.get("code", ""))

    @router.get("/password/{code}")
    async def password_link(request: Request, code: str) -> Response:
        return password_form(request, code)

    @router.post("/set-password")
    async def set_password(request: Request) -> Response:
        form = await request.form()
        expected = request.cookies.get(pages.presession_cookie)
        if not csrf.matches(expected, form_value(form, csrf.FIELD)):
            return pages.expired_form(request, None)
        staff_id, code = staff_id_of(form), code_of(form)
        password = (form_value(form, "password") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
        again = (form_value(form, "password_again") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
        context: dict[str, Any] = {"title": "Set your password", "presession": expected or "",
                                   "staff_id": staff_id, "code": code, "shortest": accounts.MIN_PASSWORD_LENGTH}
        try:
            accounts.check_password_policy(password)
            if password != again:
                raise ValueError(NOT_THE_SAME)
        except ValueError as broken:
            return pages.render(request, "staff_set_password.html", 422, error=str(broken), **context)
        engine, clock = pages.plumbing(request)
        web = pages.web(request)
        outcome = await web.sign_ins.set_password(engine, clock, staff_id, code, password, pages.address(request))
        if outcome is Outcome.BUSY:
            return pages.busy(request, "staff_set_password.html", **context)
        if outcome is Outcome.REFUSED:
            return pages.render(request, "staff_set_password.html", 401, error=link_refused(pages.texts.ask),
                                **context)
        response = pages.to_sign_in("password-set")
        pages.forget_cookie(request, response, pages.cookie, "lax")  # every session of the account ended with it
        return response

    if pages.sealing is not None:
        add_second_factor(router, pages)
    return router
