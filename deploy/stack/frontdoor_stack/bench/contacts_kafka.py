"""Project 1: the contacts service's Kafka intake. The bench's N contacts
(the same as the bare loop's) are pre-loaded on frontdoor.contacts.v1, then
`frontdoor-contacts serve` starts; contacts/s is first to last
contacts.recorded.v1 record, counted by CloudEvents id and contact id,
waiting at most the time cap."""

from __future__ import annotations

import asyncio
from typing import Any

from frontdoor_contracts.topics import CONTACTS_RECORDED, FRONTDOOR_CONTACTS

from .context import BenchContext
from .kafka_io import FlowResult, collect, now_ms, preload
from .processes import BenchService

CONSUMER_GROUP = "bench-contacts"
CLIENT_ROLES = "intake,decide,read"
CLIENT_SOURCES = "all"  # the bench posts the demo's contacts, from every referrer source (a front-door system's key)


def contacts_service(ctx: BenchContext) -> BenchService:
    return BenchService("contacts", ctx.bootstrap, ctx.workdir, {"CONTACTS_CONSUMER_GROUP": CONSUMER_GROUP})


def recorded_contact_id(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    return str(data["contact_id"]) if isinstance(data, dict) and "contact_id" in data else None


async def measure(ctx: BenchContext, service: BenchService) -> tuple[FlowResult, str]:
    """Returns the flow and an API key for the HTTP phase; leaves the service running."""
    count, cap = ctx.sizes.contacts, ctx.sizes.time_cap
    step = ctx.progress.step("contacts Kafka: pre-loading", count)
    output = await asyncio.to_thread(service.run_command, "create-client", "--name", "bench", "--roles", CLIENT_ROLES,
                                     "--sources", CLIENT_SOURCES)
    api_key = output.strip().splitlines()[-1].strip()
    await preload(ctx.bootstrap, FRONTDOOR_CONTACTS.name, ((c.key, c.value) for c in ctx.contacts), step.update)
    step = ctx.progress.step("contacts Kafka: starting service", count)
    service.start()
    await asyncio.to_thread(service.wait_healthy)
    ready_ms = now_ms()
    step.update(0, f"recorded (cap {cap:.0f}s)")
    tally, _ = await collect(ctx.bootstrap, CONTACTS_RECORDED.name, count, cap, select=recorded_contact_id,
                             on_progress=lambda t: step.update(t.distinct), still_running=service.running,
                             partitions=CONTACTS_RECORDED.partitions)
    flow = FlowResult.of(tally, {c.contact_id for c in ctx.contacts}, cap, ready_ms)
    ctx.progress.done(f"contacts Kafka intake {flow.per_second:,.1f} contacts/s ({flow.arrived:,} of {count:,}"
                      + ("" if flow.complete else f" within the {cap:.0f}s cap") + ")")
    return flow, api_key
