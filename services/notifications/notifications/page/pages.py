"""The schools' page on the kit's staff pages (`frontdoor_platform.staff`):
key adults sign in with the kit's machinery (argon2 accounts, hashed-token
sessions, CSRF, the throttle, a TOTP second factor sealed with this
service's keys, one-time set-password links). What is the schools' own is
here: the key adults' tables, the page's title and words, and the rule
that a school may require a second factor of its key adults."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from sqlmodel import Session

from frontdoor_platform.staff import StaffAccountBase, StaffPages, StaffTexts

from ..models import KeyAdultRow, PageSessionRow, PasswordLinkRow, RecipientRow

PREFIX = "/page"


class PageRole(StrEnum):
    """The page's one role (`accounts add --role key_adult --scope <URN>`)."""

    KEY_ADULT = "key_adult"


TITLE = "Front Door notifications for schools"
FLASHES: Mapping[str, str] = {
    "acknowledged": "You acknowledged this notification. Thank you.",
    "already": "This notification had already been acknowledged.",
}
TEXTS = StaffTexts(
    sign_in_intro="Sign in as your school's key adult to read and acknowledge notifications.",
    ask="the MASH",
    enrol_required="Your school asks every key adult to sign in with a code from an authenticator app as well as a "
                   "password.",
    footer="For children's safety, do not share or print these details. Sign out when you have finished.",
    home="Go to your school's notifications",
)


def school_requires_second_factor(db: Session, account: StaffAccountBase) -> bool:
    """A key adult whose school requires a second factor enrols one before they are signed in."""
    school = db.get(RecipientRow, account.staff_scope()) if account.staff_scope() else None
    return school is not None and school.require_second_factor


def _sealing_keys(settings: Any) -> Any:
    return settings.sealing_keys  # notifications' AES-GCM keys of the secrets at rest (sealing.py)


PAGES = StaffPages(prefix=PREFIX, title=TITLE, accounts=KeyAdultRow, sessions=PageSessionRow,
                   links=PasswordLinkRow, roles=PageRole, templates="notifications.page", sealing=_sealing_keys,
                   second_factor_required=school_requires_second_factor, audit_subject="key_adult", texts=TEXTS,
                   flashes=FLASHES, issuer="Front Door schools")
