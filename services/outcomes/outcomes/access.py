"""Who may call the outcomes API: an analyst (the KPI report), an Early
Help manager (the KPI report, and one family's outcome view and
chronology, any family), an agency (one family's chronology, only a family
one of whose cases is allocated to the agency its key names: another
agency's family is 404) and an admin (the audit trail of the keys made and
revoked, and the read log, nothing else). Staff signed in to the
chronology page hold the same roles (manager, agency with its agency)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing
from frontdoor_platform.audit import AuditTrail

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    ANALYST = "analyst"
    MANAGER = "manager"
    AGENCY = "agency"
    ADMIN = "admin"


IMPLIED = {Role.MANAGER.value: frozenset({Role.ANALYST.value})}


class StaffRole(StrEnum):
    """The chronology page's accounts (`accounts add --role`): the manager, or an agency's staff (`--scope`)."""

    MANAGER = Role.MANAGER.value
    AGENCY = Role.AGENCY.value


def key_policy(roles: frozenset[str], sources: frozenset[str], scope: str | None) -> None:
    """An agency key names its agency (`--scope`); no other key carries one."""
    if Role.AGENCY.value in roles and scope is None:
        raise ValueError("an agency key needs --scope: the agency it acts for")
    if scope is not None and Role.AGENCY.value not in roles:
        raise ValueError("only an agency key carries a scope")


def acting_agency(roles: Iterable[str], scope: str | None) -> str | None:
    """The agency whose families a caller may see (None: every family, a manager's)."""
    if Role.MANAGER.value in set(roles):
        return None
    if scope is None:
        raise PermissionError("this agency key names no agency")
    return scope


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdo_", policy=key_policy)


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
