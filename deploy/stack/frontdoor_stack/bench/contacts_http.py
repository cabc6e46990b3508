"""Project 2: the contacts service's HTTP intake. wrk POSTs distinct
contacts at 64 connections for a fixed duration, then hey holds a fixed
rate; then every 202 must show up exactly once on contacts.recorded.v1
(channel `api`): wrk's by the contact_id in each 202 body, hey's by count.

Before it, the service is restarted with its consumer group moved past
whatever the time-capped Kafka phase left unconsumed, so HTTP contacts are
not queued behind it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdoor_contracts.topics import CONTACTS_RECORDED, FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS

from .contacts_kafka import CONSUMER_GROUP
from .context import BenchContext, with_clock
from .http_load import HttpResult, hey_fixed_rate, wrk
from .kafka_io import Tally, collect, move_group_to_end
from .processes import BenchService


@dataclass(frozen=True)
class ContactsHttpResult:
    closed: HttpResult  # wrk, 64 connections
    fixed: HttpResult  # hey, fixed rate
    accepted: int  # 202s, both loads
    recorded: int  # distinct of those seen on contacts.recorded.v1
    lost: int
    duplicates: int
    in_flight: int  # also recorded: requests the service took whose answer the stopping load never read
    complete: bool
    time_cap: float


def api_contacts(hey_received_at: str) -> Callable[[dict[str, Any]], str | None]:
    """Recorded HTTP contacts as "wrk:<contact id>" or "hey:<contact id>" (hey's
    one body has its own received_at); anything else is skipped."""
    hey_time = datetime.fromisoformat(hey_received_at)

    def select(event: dict[str, Any]) -> str | None:
        data = event.get("data")
        if not (isinstance(data, dict) and data.get("channel") == "api" and "contact_id" in data):
            return None
        try:
            from_hey = datetime.fromisoformat(str(data.get("received_at"))) == hey_time
        except ValueError:
            from_hey = False
        return ("hey:" if from_hey else "wrk:") + str(data["contact_id"])

    return select


def _split(keys: dict[str, int], prefix: str) -> set[str]:
    return {key[len(prefix):] for key in keys if key.startswith(prefix)}


async def measure(ctx: BenchContext, service: BenchService, api_key: str) -> ContactsHttpResult:
    sizes, cap = ctx.sizes, ctx.sizes.time_cap
    step = ctx.progress.step("contacts HTTP: restarting service", 2 * sizes.duration)
    await asyncio.to_thread(service.stop)
    await move_group_to_end(ctx.bootstrap, CONSUMER_GROUP, [FRONTDOOR_CONTACTS.name, FRONTDOOR_DECISIONS.name])
    service.start()
    await asyncio.to_thread(service.wait_healthy)
    url = service.url + "/v1/contacts"
    ids_file = ctx.workdir / "contacts-http-202-ids.txt"
    step.update(0, f"wrk, {sizes.connections} connections")
    closed = await with_clock(step, 0, wrk(url, ctx.bodies_file, sizes.duration, connections=sizes.connections,
                                           api_key=api_key, ids_file=ids_file))
    step.update(sizes.duration, f"hey, {sizes.rate:g} req/s")
    fixed = await with_clock(step, sizes.duration, hey_fixed_rate(url, ctx.body_file, sizes.duration,
                                                                  rate=sizes.rate, api_key=api_key))
    wrk_ids = [line.strip() for line in ids_file.read_text().splitlines() if line.strip()] \
        if ids_file.is_file() else []
    hey_accepted = fixed.statuses.get(202, 0)
    accepted = len(wrk_ids) + hey_accepted
    step = ctx.progress.step("contacts HTTP: checking every 202", accepted)
    step.update(0, f"recorded (cap {cap:.0f}s)")
    known = set(wrk_ids)

    def verified(tally: Tally) -> tuple[int, int, int]:
        """(recorded, lost, in flight) of the 202s so far."""
        wrk_seen, hey_seen = _split(tally.keys, "wrk:"), len(_split(tally.keys, "hey:"))
        recorded = len(known & wrk_seen) + min(hey_seen, hey_accepted)
        in_flight = len(wrk_seen - known) + max(0, hey_seen - hey_accepted)
        return recorded, accepted - recorded, in_flight

    tally, _ = await collect(ctx.bootstrap, CONTACTS_RECORDED.name, accepted, cap,
                             select=api_contacts(ctx.body_received_at), done=lambda t: verified(t)[1] == 0,
                             on_progress=lambda t: step.update(verified(t)[0]), still_running=service.running,
                             partitions=CONTACTS_RECORDED.partitions)
    recorded, lost, in_flight = verified(tally)
    duplicates = max(tally.duplicates, sum(count - 1 for count in tally.keys.values()))
    result = ContactsHttpResult(closed, fixed, accepted, recorded, lost, duplicates, in_flight, lost == 0, cap)
    ctx.progress.done(f"contacts HTTP {closed.per_second:,.0f} req/s (p99 {closed.p99_ms or 0:.1f} ms, "
                      f"{closed.timeouts} timeouts); at {fixed.per_second:,.0f} req/s p99 {fixed.p99_ms or 0:.1f} ms; "
                      f"{recorded:,} of {accepted:,} 202s recorded")
    return result
