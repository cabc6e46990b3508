"""Who may call the notifications API: a school (its own pupils'
notifications only: the key's scope is its URN), the MASH (delivery status
and the worklist across schools) and an admin (the school directory)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing

from .models import ApiClient


class Role(StrEnum):
    SCHOOL = "school"
    MASH = "mash"
    ADMIN = "admin"


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdn_")
