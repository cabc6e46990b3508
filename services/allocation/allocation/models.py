"""The allocation service's own tables. A case is kept whole as a JSON
document of the domain `Case`, beside the columns the board queries on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel, col

from frontdoor_contracts.topics import ALLOCATION_AUDIT
from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.audit import AuditFields
from frontdoor_platform.database import utc_column
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.reads import ReadFields, ReadPurgeFields, ReadTables
from frontdoor_platform.staff import StaffAccountFields, StaffLinkFields, StaffSessionFields


class AllocationTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, apart from any
    other service's (each service owns its database)."""


class CaseRow(AllocationTable, table=True):
    __tablename__ = "cases"

    case_id: uuid.UUID = Field(primary_key=True)
    family_id: uuid.UUID = Field(index=True)
    status: str = Field(max_length=20, index=True)
    is_open: bool = Field(index=True)
    source: str = Field(max_length=30)
    started_at: datetime = Field(sa_column=utc_column())
    due_at: datetime = Field(sa_column=utc_column(index=True))
    version: int = 1
    document: str = Field(sa_column=Column(Text, nullable=False))
    # The caseloads' columns (migration 0009): copied from the document on every save.
    lead_agency_id: str | None = Field(default=None, max_length=64)
    lead_professional_ref: str | None = Field(default=None, max_length=64)
    closed_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


# One open case per family, kept by the database whatever several workers do at once (migration 0008).
OPEN = "is_open"
Index("ux_cases_one_open_per_family", col(CaseRow.family_id), unique=True, sqlite_where=text(OPEN),
      postgresql_where=text(OPEN))

# An agency's caseload: its open cases, and those it closed since a quarter began (migration 0009).
Index("ix_cases_agency_open", col(CaseRow.lead_agency_id), col(CaseRow.is_open))
Index("ix_cases_agency_closed_at", col(CaseRow.lead_agency_id), col(CaseRow.closed_at))


class TimelineEntry(AllocationTable, table=True):
    __tablename__ = "timeline"

    id: int | None = Field(default=None, primary_key=True)
    case_id: uuid.UUID = Field(index=True)
    at: datetime = Field(sa_column=utc_column())
    kind: str = Field(max_length=40)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class FamilyAlias(AllocationTable, table=True):
    """A family found to be part of another (contacts.families-merged.v1): a
    trigger that still names it, published before the merge was known, joins
    the family it is part of."""

    __tablename__ = "family_aliases"

    merged_family_id: uuid.UUID = Field(primary_key=True)
    family_id: uuid.UUID = Field(index=True)
    merged_at: datetime = Field(sa_column=utc_column())


class OutboxEvent(OutboxFields, AllocationTable, table=True):
    """Events written in the same transaction as the change they describe."""

    __tablename__ = "outbox"


class ApiClient(ApiClientFields, AllocationTable, table=True):
    """An API client: a bearer key stored only as its SHA-256 hash, with roles
    (and, for an agency key, the agency it acts for as its scope)."""

    __tablename__ = "api_clients"


class AuditEntry(AuditFields, AllocationTable, table=True):
    """Every change made through the API or the command line (append-only: see frontdoor_platform.audit)."""

    __tablename__ = "audit"
    AUDIT_TOPIC = ALLOCATION_AUDIT


class ReadEntry(ReadFields, AllocationTable, table=True):
    """Who read what: one row per record an API read or page view showed (append-only but for the retention
    purge: see frontdoor_platform.reads)."""

    __tablename__ = "read_log"


class ReadPurge(ReadPurgeFields, AllocationTable, table=True):
    """The retention purge's cutoffs: the read log's triggers let only rows older than one be deleted."""

    __tablename__ = "read_log_purges"


READ_LOG = ReadTables(ReadEntry, ReadPurge)  # reads_of (subject access) and purge_reads (retention)


class StaffAccountRow(StaffAccountFields, AllocationTable, table=True):
    """A member of staff who signs in to the board and the caseloads (the kit's columns: argon2id hash, roles,
    the agency as scope, an optional second factor sealed)."""

    __tablename__ = "staff_accounts"


class StaffSessionRow(StaffSessionFields, AllocationTable, table=True):
    """A staff session (only its token's SHA-256 kept)."""

    __tablename__ = "staff_sessions"


class StaffLinkRow(StaffLinkFields, AllocationTable, table=True):
    """A one-time set-password link (only its SHA-256 kept)."""

    __tablename__ = "staff_password_links"
