"""What the allocation service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows): nothing yet. Its cases, timeline and family aliases
are case records, on legal hold: no timer deletes them (see the schedule's
`case_records`). The read log's purge is registered here once the read
table exists (`Purge(READ_LOG, delete, oldest)` over its read time)."""

from __future__ import annotations

from frontdoor_platform.purge import Purge
from frontdoor_platform.service import Plumbing


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return ()
