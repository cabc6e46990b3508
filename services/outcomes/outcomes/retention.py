"""What the outcomes service purges on the retention schedule's timer,
besides its outbox (the kit purges every service's: published rows and
discarded parked rows): its read log, after the read_log class's period. The KPI read model, the family
views and the families' chronology (`chronology`) are a projection of the case events, kept as long as they
are (a rebuild from the topics drops what the topics dropped; see the schedule's `kpi_read_model`, which names
each of their tables). The chronology page's staff accounts, sessions and set-password links (the kit's
tables: staff ids and hashes, nothing about a family) are purged by nothing here: no class of the schedule
names them yet."""

from __future__ import annotations

from frontdoor_platform.purge import Purge, read_log_purge
from frontdoor_platform.service import Plumbing

from .models import READ_LOG


def purges(parts: Plumbing) -> tuple[Purge, ...]:
    return (read_log_purge(READ_LOG),)
