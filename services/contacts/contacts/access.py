"""Who may call the contacts API: roles, the referrer sources an intake key
may claim, and the key ring that holds them.

An intake key names what its holder is: `--sources police` for a police
force's system, `--sources health,gp` for a health partner's, `--sources
school --scope <URN>` for one school's (a school key claims school alone,
holds the intake role alone, and its contacts are about its own pupils),
`--sources all` for the MASH's own front-door system, which records what
any referrer said. A contact claiming a source its key does not name is
refused (403)."""

from __future__ import annotations

import re
from enum import StrEnum

from frontdoor_contracts.vocabulary import ReferrerSource
from frontdoor_platform.apikeys import ANY_SOURCE, KeyRing
from frontdoor_platform.audit import AuditTrail

from .models import ApiClient, AuditEntry, OutboxEvent


class Role(StrEnum):
    INTAKE = "intake"  # submit contacts (as the referrer sources the key names)
    DECIDE = "decide"  # record MASH decisions
    READ = "read"  # read contacts and children's histories
    ADMIN = "admin"  # read the audit trail and the read log
    PRIVACY = "privacy"  # the data protection officer's: subject access, erasure and rectification requests


SCHOOL_URN = re.compile(r"^[1-9][0-9]{5}$")


def key_policy(roles: frozenset[str], sources: frozenset[str], scope: str | None) -> None:
    """What an intake key may be, checked when it is made (ValueError: what is wrong)."""
    if Role.INTAKE.value in roles and not sources:
        raise ValueError("an intake key names the referrer sources it may claim: --sources police (say), "
                         "--sources school --scope <URN>, or --sources all for the MASH's front-door system")
    if sources and Role.INTAKE.value not in roles:
        raise ValueError("--sources is for intake keys")
    if ReferrerSource.SCHOOL.value in sources:
        if sources != {ReferrerSource.SCHOOL.value} or roles != {Role.INTAKE.value}:
            raise ValueError("a school key claims school alone and holds the intake role alone")
        if scope is None or not SCHOOL_URN.match(scope):
            raise ValueError("a school key names its school: --scope <6-digit URN>")
    elif scope is not None:
        raise ValueError("--scope is a school key's URN (with --sources school)")
    if ANY_SOURCE in sources and sources != {ANY_SOURCE}:
        raise ValueError("--sources all stands alone")


def school_of(sources: frozenset[str], scope: str | None) -> str | None:
    """The school a key is bound to (its URN), if it is a school's key."""
    return scope if ReferrerSource.SCHOOL.value in sources else None


def keyring() -> KeyRing:
    return KeyRing(ApiClient, Role, token_prefix="fdk_", sources=ReferrerSource, policy=key_policy)


def audit_trail(source_uri: str) -> AuditTrail:
    return AuditTrail(AuditEntry, OutboxEvent, source_uri)
