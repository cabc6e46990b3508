"""The schools' page's own routes, under /page and out of the OpenAPI
document: the school's notifications, one notification, its
acknowledgement. Signing in and out, setting a password with a one-time
code and the second factor are the kit's (`frontdoor_platform.staff`, set
up in `pages.py`); `install` puts both on an app.

Database work runs in worker threads, never on the event loop; the engine
and the clock are the app's (`app.state.auth`). Every request's session is
checked on the server (`PAGES.signed_in`: absolute and idle timeouts, its
key adult still there); every form carries the session's CSRF token
(`PAGES.signed_in_with_csrf`). Every response says not to cache it, not to
frame it and not to send a referrer. Another school's notification is "not
found", the same as none at all. Nothing here logs: no staff id, no child.
The list and a notification are in the read log (who: `staff:<staff id>`;
what: the notifications and children by id; the route) before they are
shown; when the log cannot be written the page says so (503 with
Retry-After) and shows nothing of them."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from sqlmodel import Session

from frontdoor_platform import audit, reads
from frontdoor_platform.http import in_thread
from frontdoor_platform.problems import ProblemError
from frontdoor_platform.staff import Staff
from frontdoor_platform.staff.web import reading, writing

from .. import directory, inbox
from ..access import audit_trail
from ..models import NotificationRow, ReadEntry
from . import views
from .pages import PAGES, PREFIX
from .views import Listed, Shown

ERASED = "Details removed: the retention period ended, or the child's personal data was erased."
router = APIRouter(prefix=PREFIX, include_in_schema=False)
KeyAdult = Annotated[Staff, Depends(PAGES.signed_in)]
KeyAdultPosting = Annotated[Staff, Depends(PAGES.signed_in_with_csrf)]


def install(app: FastAPI, settings: Any) -> None:
    """The page on `app`: the kit's sign-in machinery (one throttle and argon2 bound per app) and these routes."""
    PAGES.install(app, settings)
    app.include_router(router)


def _parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _records(rows: list[NotificationRow]) -> list[str]:
    return [record for row in rows for record in (
        reads.record_of("notification", row.notification_id),
        *([reads.record_of("person", row.child_id)] if row.child_id else []))]


async def _unlogged(request: Request, staff: Staff, rows: list[NotificationRow]) -> Response | None:
    """Record what the key adult is about to see; the "not available" page (503) when the read log cannot."""
    try:
        await reads.staff_reads(request, ReadEntry, staff.staff_id).shown(_records(rows))
    except ProblemError:
        return PAGES.unavailable(request, staff)
    return None


def _wake_relay(request: Request) -> None:
    """Publish the acknowledgement now when this process runs the outbox relay (else the worker polls)."""
    relay = getattr(getattr(request.app.state, "runtime", None), "relay", None)
    wake = getattr(relay, "wake", None)
    if callable(wake):
        wake()


def _school_urn(staff: Staff) -> str:
    return staff.scope or ""


@router.get("/")
async def school_notifications(request: Request, staff: KeyAdult) -> Response:
    engine, clock = PAGES.plumbing(request)
    now, urn = clock(), _school_urn(staff)

    def read(db: Session) -> tuple[str, list[Listed], list[NotificationRow]]:
        school = directory.school(db, urn)
        rows = list(inbox.of_school(db, urn))
        return school.name if school else urn, [views.listed(row, now) for row in rows], rows

    school_name, items, rows = await in_thread(reading, engine, read)
    refused = await _unlogged(request, staff, rows)
    if refused is not None:
        return refused
    return PAGES.render(request, "inbox.html", staff=staff, title="Notifications", school_name=school_name,
                        items=items, enrolled=staff.second_factor,
                        waiting=sum(1 for item in items if not item.acknowledged))


@router.get("/notifications/{notification_id}")
async def notification(request: Request, notification_id: str, staff: KeyAdult) -> Response:
    wanted = _parse_id(notification_id)
    if wanted is None:
        return PAGES.not_found(request, staff)
    engine, clock = PAGES.plumbing(request)
    now, mash_contact, urn = clock(), PAGES.web(request).settings.mash_contact, _school_urn(staff)

    def read(db: Session) -> tuple[Shown, NotificationRow] | None:
        row = inbox.one_of_school(db, urn, wanted)
        return None if row is None else (views.shown(row, now, mash_contact), row)

    found = await in_thread(reading, engine, read)
    if found is None:
        return PAGES.not_found(request, staff)
    item, row = found
    refused = await _unlogged(request, staff, [row])
    if refused is not None:
        return refused
    return PAGES.render(request, "notification.html", staff=staff, title="Notification", item=item,
                        erased_text=ERASED, mash_contact=mash_contact)


@router.post("/notifications/{notification_id}/acknowledgement")
async def acknowledgement(request: Request, notification_id: str, staff: KeyAdultPosting) -> Response:
    wanted = _parse_id(notification_id)
    if wanted is None:
        return PAGES.not_found(request, staff)
    engine, clock = PAGES.plumbing(request)
    source_uri, urn = PAGES.web(request).settings.source_uri, _school_urn(staff)

    def acknowledge(db: Session) -> bool | None:
        row = inbox.one_of_school(db, urn, wanted)
        if row is None:
            return None
        done = inbox.acknowledge(db, row, by=staff.staff_id, now=clock(), source_uri=source_uri)
        if done:  # the key adult's own change: audited as theirs, in its transaction
            audit_trail(source_uri).record(db, audit.staff_actor(staff.staff_id), "notification.acknowledged",
                                           f"notification:{wanted}", None, None, clock())
        return done

    done = await in_thread(writing, engine, acknowledge)
    if done is None:
        return PAGES.not_found(request, staff)
    if done:
        _wake_relay(request)
    return PAGES.redirect(f"{PREFIX}/notifications/{wanted}?done={'acknowledged' if done else 'already'}")
