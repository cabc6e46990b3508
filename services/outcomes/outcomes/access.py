"""Who may call the outcomes API: an analyst (the KPI report) and an Early
Help manager (the KPI report and one family's outcome view)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing

from .models import ApiClient


class Role(StrEnum):
    ANALYST = "analyst"
    MANAGER = "manager"


IMPLIED = {Role.MANAGER.value: frozenset({Role.ANALYST.value})}


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdo_")
