"""What the outcomes service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows): nothing yet. The KPI read model and the family
views are a projection of the case events, kept as long as they are (a
rebuild from the topics drops what the topics dropped; see the schedule's
`kpi_read_model`). The read log's purge is registered here once the read
table exists (`Purge(READ_LOG, delete, oldest)` over its read time)."""

from __future__ import annotations

from frontdoor_platform.purge import Purge
from frontdoor_platform.service import Plumbing


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return ()
