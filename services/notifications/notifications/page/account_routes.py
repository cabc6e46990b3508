"""The page's own account routes: a key adult sets their password with the
one-time code the admin gave them (`/page/set-password`, the link's page:
the double-submit CSRF token of the sign-in form, the password policy,
the throttle; `links.py`), gives a TOTP code after the password
(`/page/second-factor`) and enrols one (`/page/second-factor/new`: the
secret shown once, confirmed by a first code; `second_factor.py`). Every
form carries a CSRF token; codes go through the sign-in throttle; a sign-in
half done is upgraded to a signed-in session with a new token. Nothing
here logs, and no answer echoes a password or a code. `routes.install`
puts these on the app beside the page's other routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlmodel import Session

from frontdoor_platform import audit
from frontdoor_platform.clock import Clock
from frontdoor_platform.http import in_thread

from ..access import audit_trail
from ..domain import totp
from . import accounts, csrf, second_factor, sessions
from .sessions import SignedIn, Stage
from .signin import Outcome
from .web import NEXT_STEP, PREFIX, SESSION_COOKIE, Web, WebDep, form_value, staff_id_of, writing

CODE_REFUSED = ("That code did not work. Enter the code your authenticator app shows now; after a few unsuccessful "
                "attempts each one makes the next wait longer.")
LINK_REFUSED = ("That did not work: the code may have been used already, replaced by a newer one or expired, or "
                "the staff ID is not the one it was given for; after a few unsuccessful attempts each one makes "
                "the next wait longer. If it keeps failing, ask the MASH for a new one.")
NOT_THE_SAME = "The two passwords are not the same."
MAX_CODE = 64
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _grouped(secret: str) -> str:
    """The secret in groups of four, as people type it into an app."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


async def _pending(web: Web, request: Request, *stages: Stage) -> SignedIn | Response:
    """The session, if at one of `stages`; else where it should be (sign in, its next step, the list)."""
    found = await web.session(request)
    if found is None:
        return web.to_sign_in()
    if found.stage not in stages:
        return web.redirect(NEXT_STEP.get(found.stage, f"{PREFIX}/"))
    return found


def _check_code(web: Web, signed: SignedIn, code: str, clock: Clock, enrolling: bool) -> Callable[[Session], bool]:
    """The database step that tells whether `code` is right: confirming an enrolment (audited, as the key
    adult's own change, never the secret), or the second step of a sign-in."""
    settings, keys = web.settings, web.settings.sealing_keys

    def work(db: Session) -> bool:
        if not enrolling:
            return second_factor.check(db, signed, code, clock(), keys)
        enrolled = second_factor.confirm(db, signed, code, clock(), keys)
        if enrolled:
            audit_trail(settings.source_uri).record(db, audit.staff_actor(signed.staff_id),
                                                    "key_adult.second_factor_enrolled",
                                                    f"key_adult:{signed.staff_id}", None, None, clock())
        return enrolled

    return work


async def _code_step(web: Web, request: Request, signed: SignedIn, template: str, **context: Any) -> Response:
    """A TOTP code from the form, through the throttle: confirming an enrolment (enrol.html), or the
    second step of a sign-in. Right: a sign-in half done becomes a signed-in session (a new token)."""
    form = await request.form()
    if not csrf.matches(signed.csrf_token, form_value(form, csrf.FIELD)):
        return web.expired_form(signed)
    code = (form_value(form, "code") or "")[:MAX_CODE]
    engine, clock = web.plumbing(request)
    enrolling = template == "enrol.html"
    check = _check_code(web, signed, code, clock, enrolling)
    tried: list[bool] = []

    async def right() -> bool:
        tried.append(True)
        return await in_thread(writing, engine, check)

    outcome = await web.sign_ins.second_factor(clock, signed.staff_id, web.address(request), right)
    if outcome is Outcome.BUSY:
        return web.busy(template, signed=signed, title="Second factor", **context)
    if outcome is Outcome.REFUSED:
        still = await in_thread(writing, engine, lambda db: sessions.wrong_code(db, signed.token_hash)) \
            if tried else True
        if not still:
            response = web.to_sign_in("start-again")
            web.forget_cookie(response, SESSION_COOKIE, "lax")
            return response
        return web.render(template, 401, signed=signed, title="Second factor", error=CODE_REFUSED, **context)
    if signed.stage is Stage.SIGNED_IN:
        return web.redirect(f"{PREFIX}/?done=second-factor-set")
    upgraded = await in_thread(writing, engine, lambda db: sessions.upgrade(db, signed, clock(), web.settings))
    if upgraded is None:
        return web.to_sign_in("start-again")
    response = web.redirect(f"{PREFIX}/?done=second-factor-set" if enrolling else f"{PREFIX}/")
    web.session_cookie(response, upgraded[0])
    return response


@router.get("/second-factor")
async def code_form(request: Request, web: WebDep) -> Response:
    signed = await _pending(web, request, Stage.CODE)
    if not isinstance(signed, SignedIn):
        return signed
    return web.render("second_factor.html", signed=signed, title="Second factor", error=None)


@router.post("/second-factor")
async def code_given(request: Request, web: WebDep) -> Response:
    signed = await _pending(web, request, Stage.CODE)
    if not isinstance(signed, SignedIn):
        return signed
    return await _code_step(web, request, signed, "second_factor.html")


@router.get("/second-factor/new")
async def enrol_form(request: Request, web: WebDep) -> Response:
    signed = await _pending(web, request, Stage.ENROL, Stage.SIGNED_IN)
    if not isinstance(signed, SignedIn):
        return signed
    engine, _ = web.plumbing(request)
    keys = web.settings.sealing_keys
    secret = await in_thread(writing, engine, lambda db: second_factor.hold(db, signed, keys))
    if secret is None:
        return web.to_sign_in()
    return web.render("enrol.html", signed=signed, title="Set up a second factor", error=None, shown=True,
                      secret=_grouped(secret), uri=totp.provisioning_uri(secret, signed.staff_id),
                      required=signed.stage is Stage.ENROL)


@router.post("/second-factor/new")
async def enrol_confirmed(request: Request, web: WebDep) -> Response:
    signed = await _pending(web, request, Stage.ENROL, Stage.SIGNED_IN)
    if not isinstance(signed, SignedIn):
        return signed
    return await _code_step(web, request, signed, "enrol.html", shown=False, secret="", uri="",
                            required=signed.stage is Stage.ENROL)


@router.get("/set-password")
async def set_password_form(request: Request, web: WebDep) -> Response:
    token = web.presession_token(request)
    code = request.query_params.get("code", "")[:MAX_CODE]
    response = web.render("set_password.html", title="Set your password", presession=token, error=None,
                          staff_id="", code=code, shortest=accounts.MIN_PASSWORD_LENGTH)
    web.presession_cookie(response, token)
    return response


@router.post("/set-password")
async def set_password(request: Request, web: WebDep) -> Response:
    form = await request.form()
    expected = request.cookies.get(csrf.PRESESSION_COOKIE)
    if not csrf.matches(expected, form_value(form, csrf.FIELD)):
        return web.expired_form(None)
    staff_id, code = staff_id_of(form), (form_value(form, "code") or "")[:MAX_CODE]
    password = (form_value(form, "password") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
    again = (form_value(form, "password_again") or "")[:accounts.MAX_PASSWORD_LENGTH + 1]
    context: dict[str, Any] = {"title": "Set your password", "presession": expected or "", "staff_id": staff_id,
                               "code": code, "shortest": accounts.MIN_PASSWORD_LENGTH}
    try:
        accounts.check_password_policy(password)
        if password != again:
            raise ValueError(NOT_THE_SAME)
    except ValueError as broken:
        return web.render("set_password.html", 422, error=str(broken), **context)
    engine, clock = web.plumbing(request)
    outcome = await web.sign_ins.set_password(engine, clock, staff_id, code, password, web.address(request))
    if outcome is Outcome.BUSY:
        return web.busy("set_password.html", **context)
    if outcome is Outcome.REFUSED:
        return web.render("set_password.html", 401, error=LINK_REFUSED, **context)
    response = web.to_sign_in("password-set")
    web.forget_cookie(response, SESSION_COOKIE, "lax")  # every session of the account ended with it
    return response
