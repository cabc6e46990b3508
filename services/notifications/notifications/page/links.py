"""The directory's way to a key adult's one-time set-password code: the
kit's links (`frontdoor_platform.staff.links`) on the key adults' tables."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from frontdoor_platform.staff import links

from .pages import PAGES


def issue(db: Session, staff_id: str, now: datetime, lifetime: timedelta) -> tuple[str, datetime] | None:
    """A new code for the key adult and when it stops working; None when there is no such key adult."""
    return links.issue(db, PAGES.tables, staff_id, now, lifetime)
