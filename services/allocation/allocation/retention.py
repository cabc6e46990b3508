"""What the allocation service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows): its read log, after the read_log class's period. Its cases, timeline and family aliases
are case records, on legal hold: no timer deletes them (see the schedule's
`case_records`)."""

from __future__ import annotations

from frontdoor_platform.purge import Purge, read_log_purge
from frontdoor_platform.service import Plumbing

from .models import READ_LOG


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return (read_log_purge(READ_LOG),)
