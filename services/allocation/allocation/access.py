"""Who may call the allocation API: coordinator (allocate, and everything an
agency may), agency (record offers, answers and step-ups, and read) and
read (agenda, board, timelines)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing

from .models import ApiClient


class Role(StrEnum):
    COORDINATOR = "coordinator"
    AGENCY = "agency"
    READ = "read"


IMPLIED = {
    Role.COORDINATOR.value: frozenset({Role.AGENCY.value, Role.READ.value}),
    Role.AGENCY.value: frozenset({Role.READ.value}),
}


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fda_")
