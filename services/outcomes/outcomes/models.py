"""The outcomes service's own tables (SQLModel), on `OutcomesTable`'s metadata:
the outbox, API clients, the audit trail, the family views, the stream's
offsets, the read log and the chronology page's staff accounts, sessions and
set-password links (the kit's columns). Only this service reads them. The KPI read model's fact tables are on
the same metadata in `readmodel/tables.py`; `migrations` gathers both."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Column, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from frontdoor_contracts.topics import OUTCOMES_AUDIT
from frontdoor_platform.apikeys import ApiClientFields
from frontdoor_platform.audit import AuditFields
from frontdoor_platform.database import utc_column
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.reads import ReadFields, ReadPurgeFields, ReadTables
from frontdoor_platform.staff import StaffAccountFields, StaffLinkFields, StaffSessionFields


class OutcomesTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata (each service owns its database)."""


class OutboxEvent(OutboxFields, OutcomesTable, table=True):
    __tablename__ = "outbox"


class ApiClient(ApiClientFields, OutcomesTable, table=True):
    __tablename__ = "api_clients"


class AuditEntry(AuditFields, OutcomesTable, table=True):
    """Every change made through the API or the command line (append-only: see frontdoor_platform.audit)."""

    __tablename__ = "audit"
    AUDIT_TOPIC = OUTCOMES_AUDIT


class FamilyViewRow(OutcomesTable, table=True):
    """Each family's view as the stream last left it (JSON of
    `domain.view.FamilyView`: ids, categories and days only), for the API."""

    __tablename__ = "family_views"

    family_id: uuid.UUID = Field(primary_key=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(sa_column=utc_column())


class StreamOffsetRow(OutcomesTable, table=True):
    """The next offset of each input partition whose records are applied,
    written in the same transaction as what they changed: the stream's
    truth about what it has read (faust's own committed offsets are not: see
    stream/gaps.py)."""

    __tablename__ = "stream_offsets"

    topic: str = Field(primary_key=True, max_length=200)
    partition: int = Field(primary_key=True)
    next_offset: int


class FamilyAliasRow(OutcomesTable, table=True):
    """A family merged into another: its view is the surviving family's."""

    __tablename__ = "family_view_aliases"

    family_id: uuid.UUID = Field(primary_key=True)
    now_family_id: uuid.UUID


class ReadEntry(ReadFields, OutcomesTable, table=True):
    """Who read what: one row per record an API read or page view showed (append-only but for the retention
    purge: see frontdoor_platform.reads)."""

    __tablename__ = "read_log"


class ReadPurge(ReadPurgeFields, OutcomesTable, table=True):
    """The retention purge's cutoffs: the read log's triggers let only rows older than one be deleted."""

    __tablename__ = "read_log_purges"


READ_LOG = ReadTables(ReadEntry, ReadPurge)  # reads_of (subject access) and purge_reads (retention)


class StaffAccountRow(StaffAccountFields, OutcomesTable, table=True):
    """A staff account of the chronology page: its roles (manager, agency) and scope (an agency's id)."""

    __tablename__ = "staff_accounts"


class StaffSessionRow(StaffSessionFields, OutcomesTable, table=True):
    __tablename__ = "staff_sessions"


class StaffLinkRow(StaffLinkFields, OutcomesTable, table=True):
    __tablename__ = "staff_password_links"


OWN_TABLES: tuple[type[OutcomesTable], ...] = (
    OutboxEvent, ApiClient, AuditEntry, FamilyViewRow, StreamOffsetRow, FamilyAliasRow, ReadEntry,
    ReadPurge, StaffAccountRow, StaffSessionRow, StaffLinkRow,
)
