"""What the contacts service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows, dead
letters waiting to be published among them, and discarded parked rows):

- `partner_records` (which partner delivery was applied, ids only) once the
  partner records' period has passed since it was applied: by then the
  partner topic has dropped the record, so no redelivery can come.

The people index and the case records (contacts, decisions, referrals,
pending decisions) are on legal hold: no timer deletes them. The read log is
purged here too, after the read_log class's period."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col

from frontdoor_contracts.retention import PARTNER_RECORDS
from frontdoor_platform.purge import Purge, delete_rows, earliest, read_log_purge
from frontdoor_platform.service import Plumbing

from .models import READ_LOG, PartnerRecordApplied


def delete_partner_records(session: Session, cutoff: datetime, limit: int) -> int:
    return delete_rows(session, PartnerRecordApplied, col(PartnerRecordApplied.recorded_at) < cutoff, limit)


def oldest_partner_record(session: Session) -> datetime | None:
    return earliest(session, col(PartnerRecordApplied.recorded_at))


PURGES = (Purge(PARTNER_RECORDS, delete_partner_records, oldest_partner_record),)


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return (*PURGES, read_log_purge(READ_LOG))
