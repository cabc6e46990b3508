"""Who may call the outcomes API: an analyst (the KPI report), an Early
Help manager (the KPI report and one family's outcome view) and an admin
(the audit trail of the keys made and revoked, nothing else)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing
from frontdoor_platform.audit import AuditTrail

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    ANALYST = "analyst"
    MANAGER = "manager"
    ADMIN = "admin"


IMPLIED = {Role.MANAGER.value: frozenset({Role.ANALYST.value})}


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdo_")


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
