"""The school directory (and agency contacts), owned here and managed by
the admin API: who is told, how, and on which calendar; its webhook
signing secrets, sealed at rest (sealing.py). An entry and a key adult are
inserted with `ON CONFLICT DO NOTHING` and then changed under a row lock, so
two API processes writing one at once take turns (never a unique-key 500).
Callers own the transaction."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, delete
from sqlmodel import Session, col, or_, select

from frontdoor_contracts.errors import FieldError, InvalidEvent
from frontdoor_platform.database import insert_once

from .domain import destinations
from .domain.school_days import SchoolCalendar, Term
from .models import KeyAdultRow, PageSessionRow, PasswordLinkRow, RecipientRow, SigningSecretRow
from .sealing import Keys, signing_context

SCHOOL = "school"
AGENCY = "agency"


class DirectoryConflict(ValueError):
    """The change would break the directory (e.g. a staff id already at another school)."""


def agency_recipient(agency_id: str) -> str:
    return f"{AGENCY}:{agency_id}"


def recipient(session: Session, recipient_id: str) -> RecipientRow | None:
    return session.get(RecipientRow, recipient_id)


def school(session: Session, urn: str) -> RecipientRow | None:
    row = session.get(RecipientRow, urn)
    return row if row is not None and row.kind == SCHOOL else None


def recipients(session: Session, kind: str) -> Sequence[RecipientRow]:
    query = select(RecipientRow).where(col(RecipientRow.kind) == kind).order_by(col(RecipientRow.recipient_id))
    return session.exec(query).all()


def check_webhook_url(url: str | None, *, local: bool) -> None:
    """Refuse a webhook URL the destination rules refuse with the settings (`local`: the development setting
    `local_webhooks`): InvalidEvent, answered 422 naming `webhook_url` and the rule, never the value."""
    refused = None if url is None else destinations.url_refusal(url, local=local)
    if refused is not None:
        raise InvalidEvent("invalid_data", [FieldError("webhook_url", "destination_refused",
                                                       destinations.rule_of(refused))])


def put_recipient(session: Session, recipient_id: str, *, kind: str, name: str, phase: str | None, channel: str,
                  webhook_url: str | None, alert_email: str | None, calendar: dict[str, Any] | None,
                  now: datetime, local_webhooks: bool = True,
                  require_second_factor: bool = False) -> tuple[RecipientRow, bool]:
    """Create or replace an entry; (the row, created). The webhook URL is judged by `check_webhook_url`:
    callers pass the `local_webhooks` setting (True, the default, refuses only what the body's type does).
    `require_second_factor`: a school's key adults sign in with a TOTP code too."""
    check_webhook_url(webhook_url, local=local_webhooks)
    created = insert_once(session, RecipientRow(recipient_id=recipient_id, kind=kind, name=name, channel=channel,
                                                updated_at=now))
    row = session.get(RecipientRow, recipient_id, with_for_update=True, populate_existing=True)
    assert row is not None  # inserted now, or there and locked: two admins' PUTs take turns
    if row.kind != kind:
        raise DirectoryConflict("the id is already in the directory as another kind of recipient")
    row.name, row.phase, row.channel = name, phase, channel
    row.webhook_url, row.alert_email = webhook_url, alert_email
    row.calendar = json.dumps(calendar, sort_keys=True) if calendar else None
    row.require_second_factor = require_second_factor
    row.updated_at = now
    session.add(row)
    return row, created


def key_adults(session: Session, urn: str) -> Sequence[KeyAdultRow]:
    query = select(KeyAdultRow).where(col(KeyAdultRow.school_urn) == urn).order_by(col(KeyAdultRow.staff_id))
    return session.exec(query).all()


def put_key_adults(session: Session, urn: str, adults: Sequence[tuple[str, str | None]], now: datetime) -> None:
    """The school's key adults are exactly `adults` (staff id, email); an
    adult kept keeps their page account, one removed loses it, its sessions
    and its set-password links at once. A staff id added back is a new
    account (a new `account_id`): nothing of the removed one revives."""
    wanted = dict(adults)
    for row in key_adults(session, urn):
        if row.staff_id not in wanted:
            session.delete(row)
            session.execute(delete(PageSessionRow).where(col(PageSessionRow.staff_id) == row.staff_id))
            session.execute(delete(PasswordLinkRow).where(col(PasswordLinkRow.staff_id) == row.staff_id))
    for staff_id, email in wanted.items():
        if insert_once(session, KeyAdultRow(staff_id=staff_id, school_urn=urn, email=email, updated_at=now)):
            continue
        adult = session.get(KeyAdultRow, staff_id, with_for_update=True, populate_existing=True)
        assert adult is not None
        if adult.school_urn != urn:
            raise DirectoryConflict("a key adult's staff id is already registered at another school")
        adult.email, adult.updated_at = email, now
        session.add(adult)


def calendar_of(row: RecipientRow | None, authority: SchoolCalendar) -> SchoolCalendar:
    """The school's calendar: the authority's, with the school's overrides."""
    if row is None or not row.calendar:
        return authority
    overrides = json.loads(row.calendar)
    terms = overrides.get("terms")
    return authority.overridden(
        terms=None if terms is None else [Term(date.fromisoformat(t["first_day"]), date.fromisoformat(t["last_day"]))
                                          for t in terms],
        closed_days=[date.fromisoformat(d) for d in overrides.get("closed_days", [])],
        starts_at=time.fromisoformat(overrides["starts_at"]) if overrides.get("starts_at") else None)


def signing_secrets(session: Session, recipient_id: str, now: datetime) -> Sequence[SigningSecretRow]:
    """The secrets that sign now (no expiry, or expiring after `now`), newest first: two while a rotation overlaps."""
    query = (select(SigningSecretRow)
             .where(col(SigningSecretRow.recipient_id) == recipient_id,
                    or_(col(SigningSecretRow.expires_at).is_(None), col(SigningSecretRow.expires_at) > now))
             .order_by(col(SigningSecretRow.created_at).desc(), col(SigningSecretRow.secret_id).desc()))
    return session.exec(query).all()


def rotate_secret(session: Session, recipient_id: str, secret: str, now: datetime,
                  overlap: timedelta, keys: Keys) -> datetime | None:
    """`secret` signs from now (stored sealed under the current key); the
    ones signing before keep signing for `overlap` (so the school's system
    can switch), then stop. Returns when the previous secret stops, if there
    was one. Secrets whose overlap has already ended are deleted: they can
    never sign again."""
    purge_expired_secrets(session, now, recipient_id)
    previous = signing_secrets(session, recipient_id, now)
    until = now + overlap if previous else None
    for row in previous:
        row.expires_at = min(row.expires_at, until) if row.expires_at and until else until
        session.add(row)
    sealed = keys.seal(secret, signing_context(recipient_id))
    session.add(SigningSecretRow(recipient_id=recipient_id, secret=sealed.ciphertext, key_id=sealed.key_id,
                                 created_at=now))
    return until


def purge_expired_secrets(session: Session, now: datetime, recipient_id: str | None = None) -> int:
    """Delete the signing secrets that expired by `now` (of one recipient, or of all); how many."""
    query = delete(SigningSecretRow).where(col(SigningSecretRow.expires_at).is_not(None),
                                           col(SigningSecretRow.expires_at) <= now)
    if recipient_id is not None:
        query = query.where(col(SigningSecretRow.recipient_id) == recipient_id)
    result = cast(CursorResult[Any], session.execute(query))
    return int(result.rowcount or 0)
