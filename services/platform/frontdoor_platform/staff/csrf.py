"""CSRF protection for the staff pages' forms.

Signed in, every form carries the session's own CSRF token (kept with the
session in the database) and a POST is refused unless the form's token is
that one. The sign-in form, before there is a session, uses a random
double-submit token: the same random value in an HttpOnly, SameSite=Strict
cookie scoped to the pages' prefix and in the form; another site can neither read the
cookie nor set it for this one, so it cannot make the two agree. Tokens are
compared in constant time."""

from __future__ import annotations

import secrets

FIELD = "csrf_token"
TOKEN_BYTES = 32
MAX_TOKEN_LENGTH = 64


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def well_formed(token: str | None) -> bool:
    return token is not None and 0 < len(token) <= MAX_TOKEN_LENGTH


def matches(expected: str | None, given: str | None) -> bool:
    """The form's token is the expected one (both present; constant time)."""
    if expected is None or given is None or not well_formed(expected) or not well_formed(given):
        return False
    return secrets.compare_digest(expected.encode(), given.encode())
