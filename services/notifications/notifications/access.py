"""Who may call the notifications API: a school (its own pupils'
notifications only: the key's scope is its URN), the MASH (delivery status
and the worklist across schools) and an admin (the school directory, and
the audit trail of every change). The routes say who they admit with the
dependencies below."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import Depends

from frontdoor_platform.apikeys import Caller, KeyRing
from frontdoor_platform.audit import AuditTrail
from frontdoor_platform.http import requires, requires_any

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    SCHOOL = "school"
    MASH = "mash"
    ADMIN = "admin"


Admin = Annotated[Caller, Depends(requires(Role.ADMIN))]
School = Annotated[Caller, Depends(requires(Role.SCHOOL))]
Mash = Annotated[Caller, Depends(requires(Role.MASH))]
DirectoryReader = Annotated[Caller, Depends(requires_any(Role.ADMIN, Role.MASH))]


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdn_")


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
