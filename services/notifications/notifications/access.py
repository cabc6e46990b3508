"""Who may call the notifications API: a school (its own pupils'
notifications only: the key's scope is its URN), the MASH (delivery status
and the worklist across schools) and an admin (the school directory, and
the audit trail of every change)."""

from __future__ import annotations

from enum import StrEnum

from frontdoor_platform.apikeys import KeyRing
from frontdoor_platform.audit import AuditTrail

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    SCHOOL = "school"
    MASH = "mash"
    ADMIN = "admin"


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdn_")


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
