"""Who may call the allocation API: coordinator (allocate, and everything an
agency may, on any case), agency (record offers, answers, step-ups and
closures, and see the board and timelines, only of the cases allocated to
the agency its key names: another agency's case is 404), read (agenda,
board, timelines, leads: every case, no moves) and admin (the audit trail
of every move and key, nothing else)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing
from frontdoor_platform.audit import AuditTrail

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    COORDINATOR = "coordinator"
    AGENCY = "agency"
    READ = "read"
    ADMIN = "admin"


class StaffRole(StrEnum):
    """The roles of a staff account on the board's pages (the API's, but for admin: the audit trail and the
    read log are the API's alone). An agency account names its agency as its scope."""

    COORDINATOR = Role.COORDINATOR.value
    AGENCY = Role.AGENCY.value
    READ = Role.READ.value


IMPLIED = {Role.COORDINATOR.value: frozenset({Role.AGENCY.value, Role.READ.value})}


def may(roles: frozenset[str], role: str) -> bool:
    """Whether these roles (an API key's or a member of staff's) include `role`, directly or by implication."""
    return role in roles or any(role in IMPLIED.get(held, frozenset()) for held in roles)


def acting_agency(roles: frozenset[str], scope: str | None, *, reading: bool) -> str | None:
    """The agency a caller is held to (None: any case). A coordinator acts on
    every case, a reader reads every case; an agency key only its own."""
    if Role.COORDINATOR.value in roles or (reading and Role.READ.value in roles):
        return None
    if scope is None:
        raise PermissionError("this agency key names no agency (create it with --scope)")
    return scope


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fda_")


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
