"""The contacts service's own tables (SQLModel). Only this service reads them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, Column, LargeBinary, UniqueConstraint, orm
from sqlalchemy.orm import registry
from sqlmodel import Field, Relationship, SQLModel

from frontdoor_contracts.topics import CONTACTS_AUDIT
from frontdoor_platform.apikeys import ApiClientFields, ApiClientSources
from frontdoor_platform.audit import AuditFields
from frontdoor_platform.database import utc_column
from frontdoor_platform.outbox import OutboxFields
from frontdoor_platform.reads import ReadFields, ReadPurgeFields, ReadTables


class ContactsTable(SQLModel, registry=registry()):
    """Base of this service's tables: their own metadata, apart from any
    other service's (each service owns its database)."""


class Person(ContactsTable, table=True):
    __tablename__ = "people"

    id: uuid.UUID = Field(primary_key=True)
    kind: str = Field(max_length=10)
    given_name: str = Field(max_length=100)
    family_name: str = Field(max_length=100)
    date_of_birth: date | None = None
    nhs_number: str | None = Field(default=None, max_length=10, unique=True, index=True)
    upn: str | None = Field(default=None, max_length=13, unique=True, index=True)
    postcode: str | None = Field(default=None, max_length=10)
    demographic_key: str | None = Field(default=None, max_length=64, index=True)
    family_id: uuid.UUID | None = Field(default=None, index=True)
    school_urn: str | None = Field(default=None, max_length=6)
    created_at: datetime = Field(sa_column=utc_column())
    # The household's UPRN as partner data last gave it (contacts carry none):
    # the people at one UPRN are one household (see partner_data).
    uprn: str | None = Field(default=None, max_length=12, index=True)
    # The partner fact this person was created from (None: from a contact).
    created_from_fact_id: uuid.UUID | None = None
    # When a privacy request erased the person: names, date of birth, identifiers, postcode and UPRN blanked,
    # the id, kind, family and times kept. An erased person is never matched again and never gets a data key.
    erased_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class Contact(ContactsTable, table=True):
    __tablename__ = "contacts"

    id: uuid.UUID = Field(primary_key=True)
    event_id: str = Field(max_length=200)
    event_source: str = Field(max_length=500)
    referrer_source: str = Field(max_length=30, index=True)
    channel: str = Field(max_length=10)
    family_id: uuid.UUID = Field(index=True)
    concerns: list[str] = Field(sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(sa_column=utc_column(index=True))
    recorded_at: datetime = Field(sa_column=utc_column())
    police_reference: str | None = Field(default=None, max_length=40)
    incident_at: datetime | None = Field(default=None, sa_column=utc_column(nullable=True))


class ContactPerson(ContactsTable, table=True):
    __tablename__ = "contact_people"

    contact_id: uuid.UUID = Field(primary_key=True, foreign_key="contacts.id")
    ref: str = Field(primary_key=True, max_length=40)
    person_id: uuid.UUID = Field(index=True, foreign_key="people.id")
    role: str = Field(max_length=10)
    relationship: str | None = Field(default=None, max_length=40)
    da_present: bool | None = None
    # Never loaded: they tell the unit of work to insert people and contacts
    # before the links to them, so a batch needs one flush, not one per record.
    person: Person | None = Relationship(sa_relationship=orm.relationship("Person", lazy="raise"))
    contact: Contact | None = Relationship(sa_relationship=orm.relationship("Contact", lazy="raise"))


class MashDecision(ContactsTable, table=True):
    __tablename__ = "decisions"

    contact_id: uuid.UUID = Field(primary_key=True, foreign_key="contacts.id")
    event_id: str = Field(max_length=200, unique=True)
    event_source: str | None = Field(default=None, max_length=500)
    decision: str = Field(max_length=40, index=True)
    level_of_need: int
    rationale: str = Field(max_length=4000)
    decided_by: str = Field(max_length=100)
    decided_at: datetime = Field(sa_column=utc_column())
    referral: bool
    re_referral: bool


class ChildReferral(ContactsTable, table=True):
    """One row per child per referral: what the 12-month rule looks back on."""

    __tablename__ = "child_referrals"

    child_id: uuid.UUID = Field(primary_key=True, foreign_key="people.id")
    contact_id: uuid.UUID = Field(primary_key=True, foreign_key="contacts.id")
    decided_at: datetime = Field(sa_column=utc_column(index=True))
    re_referral: bool


class FamilyMerge(ContactsTable, table=True):
    """A family merged into another by a contact that linked them (contacts.families-merged.v1): the merged
    id lives on in other services (allocation's aliases, the outcomes read model), so a privacy request
    about someone in `family_id` names it too."""

    __tablename__ = "family_merges"

    merged_family_id: uuid.UUID = Field(primary_key=True)
    family_id: uuid.UUID = Field(index=True)
    contact_id: uuid.UUID
    merged_at: datetime = Field(sa_column=utc_column())


class PersonKey(ContactsTable, table=True):
    """A person's data key (`frontdoor_contracts.personal`), made when something about them is first sealed,
    kept sealed at rest under the contacts service's own wrapping key (`wrap_key` for "contacts"; which of
    its keys: `wrapping_key_id`). Deleted when the person is erased: every value sealed with it is then
    unreadable."""

    __tablename__ = "person_keys"

    person_id: uuid.UUID = Field(primary_key=True, foreign_key="people.id")
    wrapping_key_id: str = Field(max_length=32)
    nonce: str = Field(max_length=16)
    ciphertext: str = Field(max_length=200)
    created_at: datetime = Field(sa_column=utc_column())


class OutboxEvent(OutboxFields, ContactsTable, table=True):
    """Events written in the same transaction as the change they describe,
    published by the kit's relay afterwards (transactional outbox)."""

    __tablename__ = "outbox"


class ApiClient(ApiClientFields, ApiClientSources, ContactsTable, table=True):
    """An API client; an intake key with the referrer sources it may claim (a school's: with its URN as scope)."""

    __tablename__ = "api_clients"


class AuditEntry(AuditFields, ContactsTable, table=True):
    """Every change made through the API or the command line (append-only: see frontdoor_platform.audit)."""

    __tablename__ = "audit"
    AUDIT_TOPIC = CONTACTS_AUDIT


class IdempotencyRecord(ContactsTable, table=True):
    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("client_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    client_id: uuid.UUID = Field(foreign_key="api_clients.id")
    key: str = Field(max_length=200)
    request_hash: str = Field(max_length=64)
    contact_id: uuid.UUID
    created_at: datetime = Field(sa_column=utc_column())


class PendingDecision(ContactsTable, table=True):
    """A decision that arrived before its contact (the two topics are not
    ordered with each other): kept, and applied when the contact is recorded."""

    __tablename__ = "pending_decisions"

    event_id: str = Field(primary_key=True, max_length=200)
    contact_id: uuid.UUID = Field(index=True)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    received_at: datetime = Field(sa_column=utc_column())


class PartnerRecordApplied(ContactsTable, table=True):
    """One row per partner record delivery applied (its CloudEvents source +
    id make the key): a redelivery finds it and changes nothing. Which fact
    it was and whom it matched; the names and identifiers stay on the person."""

    __tablename__ = "partner_records"

    id: uuid.UUID = Field(primary_key=True)
    event_id: str = Field(max_length=200)
    event_source: str = Field(max_length=500)
    dataset: str = Field(max_length=20)
    fact_id: uuid.UUID = Field(index=True)
    person_id: uuid.UUID = Field(index=True, foreign_key="people.id")
    family_id: uuid.UUID
    recorded_at: datetime = Field(sa_column=utc_column(index=True))  # the partner records purge's
    # Never loaded: the unit of work inserts the person first (see ContactPerson).
    person: Person | None = Relationship(sa_relationship=orm.relationship("Person", lazy="raise"))


class ReadEntry(ReadFields, ContactsTable, table=True):
    """Who read what: one row per record an API read or page view showed (append-only but for the retention
    purge: see frontdoor_platform.reads)."""

    __tablename__ = "read_log"


class ReadPurge(ReadPurgeFields, ContactsTable, table=True):
    """The retention purge's cutoffs: the read log's triggers let only rows older than one be deleted."""

    __tablename__ = "read_log_purges"


READ_LOG = ReadTables(ReadEntry, ReadPurge)  # reads_of (subject access) and purge_reads (retention)
