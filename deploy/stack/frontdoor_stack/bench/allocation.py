"""Project 3: the allocation service's decision throughput. N Early Help
`contacts.decided.v1` decisions (one family each, built as
tests/e2e/allocation/allocation_e2e_kit.py `decided()` builds them) are
pre-loaded, then `frontdoor-allocation serve` starts; decisions/s is first
to last allocation.case-opened.v1 record, counted by event id and contact
id, waiting at most the time cap."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from frontdoor_contracts.contacts import ContactDecided
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.topics import ALLOCATION_CASE_OPENED, CONTACTS_DECIDED

from .context import BenchContext
from .kafka_io import FlowResult, collect, now_ms, preload
from .processes import BenchService

CONSUMER_GROUP = "bench-allocation"


def allocation_service(ctx: BenchContext) -> BenchService:
    return BenchService("allocation", ctx.bootstrap, ctx.workdir, {"ALLOCATION_CONSUMER_GROUP": CONSUMER_GROUP})


def early_help_decisions(count: int) -> list[tuple[bytes, bytes, str]]:
    """(key, CloudEvent JSON, contact id) for `count` Early Help decisions on distinct families."""
    made = []
    now = datetime.now(UTC)
    for _ in range(count):
        contact_id = uuid.uuid4()
        data = ContactDecided.model_validate({
            "contact_id": contact_id, "family_id": uuid.uuid4(), "decision": "early_help", "level_of_need": 3,
            "decided_at": now, "referrer_source": "school", "concerns": ["neglect"],
            "children": [{"child_id": uuid.uuid4(), "referral": False, "re_referral": False}],
            "referral": False, "re_referral": False})
        event = new_event(data, source="urn:frontdoor:contacts", subject=str(contact_id), time=now)
        made.append((str(contact_id).encode(), event.model_dump_json(exclude_none=True).encode(), str(contact_id)))
    return made


def opened_contact_id(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    return str(data["contact_id"]) if isinstance(data, dict) and data.get("contact_id") else None


async def measure(ctx: BenchContext, service: BenchService) -> FlowResult:
    count, cap = ctx.sizes.decisions, ctx.sizes.time_cap
    step = ctx.progress.step("allocation: pre-loading decisions", count)
    decisions = early_help_decisions(count)
    await preload(ctx.bootstrap, CONTACTS_DECIDED.name, ((key, value) for key, value, _ in decisions), step.update)
    step = ctx.progress.step("allocation: starting service", count)
    service.start()
    await asyncio.to_thread(service.wait_healthy)
    ready_ms = now_ms()
    step.update(0, f"cases opened (cap {cap:.0f}s)")
    tally, _ = await collect(ctx.bootstrap, ALLOCATION_CASE_OPENED.name, count, cap, select=opened_contact_id,
                             on_progress=lambda t: step.update(t.distinct), still_running=service.running,
                             partitions=ALLOCATION_CASE_OPENED.partitions)
    flow = FlowResult.of(tally, {contact_id for _, _, contact_id in decisions}, cap, ready_ms)
    ctx.progress.done(f"allocation {flow.per_second:,.1f} decisions/s ({flow.arrived:,} of {count:,}"
                      + ("" if flow.complete else f" within the {cap:.0f}s cap") + ")")
    return flow
