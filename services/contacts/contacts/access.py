"""Who may call the contacts API: roles, and the key ring that holds them."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing

from .models import ApiClient


class Role(StrEnum):
    INTAKE = "intake"  # submit contacts
    DECIDE = "decide"  # record MASH decisions
    READ = "read"  # read contacts and children's histories


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdk_")
