"""Project 4: a police DA contact to the school's signed webhook, under load.

Fresh contacts and notifications services (their own databases and
consumer groups, moved past what the earlier phases left on the broker),
the demo school system (`frontdoor_stack.school_receiver`, its own process)
and a few schools put in the directory through the admin API, each by
webhook with a rotated secret handed to the receiver. Then, for a fixed
duration, a background of non-DA demo contacts at a fixed rate on
frontdoor.contacts.v1 and, beside it, DA contacts (one child at one of the
schools, a unique police reference each) at a few per second, each
published with acks=all from its own producer.

The latency of a DA contact: from the moment this client called send (the
wall clock) to the moment the receiver got a webhook it verified with the
`standardwebhooks` library (the same machine's wall clock). The webhook is
tied to its contact through the school's inbox (`GET /v1/inbox` with a
school key: the notification id, which is the webhook-id, and the police
reference): the receiver logs and keeps ids only.

`rig` (the services, the schools, the warm-up) and `window` (one measured
load) are shared with `da_sign_in_hammer`; the load and what it observes
are in `da_load`."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer

from ..kafka_broker import free_port
from ..school_receiver import MODULE as RECEIVER_MODULE
from ..seed import WEBHOOK, SchoolEntry, seed_directory
from ..services import ServiceProcess
from .context import BenchContext, Step
from .da_load import (
    BENCH_SCHOOLS,
    DaWebhookResult,
    Probes,
    arrivals,
    background_contacts,
    consumed_by,
    da_contact,
    incident_times,
    load,
    percentile,
    received,
    references,
    wait_delivered,
    wait_ready,
)
from .kafka_io import move_group_to_end
from .processes import BenchService, PythonProcess

# What the DA part's callers have always found here (the load itself is in da_load).
__all__ = ["DaWebhookResult", "Rig", "background_contacts", "da_contact", "measure", "percentile", "rig", "window"]
SERVICES = ("contacts", "notifications")
WARM_UP_PROBES = 3  # delivered before the measurement: the first connections, caches and batches


def _key(service: ServiceProcess, name: str, roles: str, scope: str | None = None) -> str:
    return service.create_client(name, roles, scope)


@dataclass
class Rig:
    """Fresh contacts and notifications services, the demo school system and the bench schools, warmed up."""

    ctx: BenchContext
    receiver_url: str
    notifications: BenchService
    keys: dict[str, str]  # school URN -> its school-scoped key
    background: list[tuple[bytes, bytes]]
    verified: int = WARM_UP_PROBES  # verified webhooks the receiver has had so far


@contextlib.asynccontextmanager
async def rig(ctx: BenchContext, seed: int, step: Step, name: str = "da-webhook",
              windows: int = 1) -> AsyncIterator[Rig]:
    """Start everything in `ctx.workdir / name` (own databases and consumer
    groups, moved past what earlier parts left), seed the directory, warm
    up; stop it all on the way out. `windows`: how many measured loads the
    background contacts must last."""
    rate, duration, cap = ctx.sizes.da_rate, ctx.sizes.da_duration, ctx.sizes.time_cap
    scratch = ctx.workdir / name
    port = free_port()
    receiver = PythonProcess(RECEIVER_MODULE, ["--port", str(port), "--secrets", str(scratch / "secrets.json")],
                             ctx.logs / f"{name}-school-receiver.log")
    receiver_url = f"http://127.0.0.1:{port}"
    groups = {service: f"bench-{name}-{service}" for service in SERVICES}
    env = {"contacts": {}, "notifications": {"NOTIFICATIONS_LOCAL_WEBHOOKS": "true"}}  # the receiver: 127.0.0.1
    services = {kind: BenchService(kind, ctx.bootstrap, scratch, {f"{kind.upper()}_CONSUMER_GROUP": group, **env[kind]})
                for kind, group in groups.items()}
    for kind, group in groups.items():
        await move_group_to_end(ctx.bootstrap, group, consumed_by(kind))
    background = await asyncio.to_thread(background_contacts, max(1, round(rate * (windows * duration + 5))), seed)
    try:
        await asyncio.to_thread(receiver.wait_http, f"{receiver_url}/healthz")
        for service in services.values():
            service.start()
        for service in services.values():
            await asyncio.to_thread(service.wait_healthy)
        step.update(1, "seeding the directory")
        notifications = services["notifications"]
        admin = await asyncio.to_thread(_key, notifications, "bench-admin", "admin")
        schools = [SchoolEntry(urn, f"Bench School {urn}", "primary", WEBHOOK, f"dsl-{urn}") for urn in BENCH_SCHOOLS]
        await asyncio.to_thread(seed_directory, notifications.url, admin, receiver_url, scratch / "secrets.json",
                                schools, [])
        keys = {urn: await asyncio.to_thread(_key, notifications, f"bench-school-{urn}", "school", urn)
                for urn in BENCH_SCHOOLS}
        for service in services.values():
            await wait_ready(service.url)
        step.update(2, "warming up")
        warm_up = Probes()
        prober = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, acks="all", enable_idempotence=True)
        await prober.start()
        try:
            for _ in range(WARM_UP_PROBES):
                await warm_up.send(prober)
        finally:
            await prober.stop()
        if not await wait_delivered(receiver_url, WARM_UP_PROBES, cap):
            raise RuntimeError("the warm-up DA contacts never reached the receiver: see the logs in "
                               f"{ctx.logs} and {scratch / 'logs'}")
        yield Rig(ctx, receiver_url, notifications, keys, background)
    finally:
        for service in services.values():
            await asyncio.to_thread(service.stop)
        await asyncio.to_thread(receiver.stop)


async def window(rig: Rig, probes: Probes, offset: int = 0) -> DaWebhookResult:
    """One measured load on the rig: the background at its rate and the DA
    probes beside it for the duration, then their webhooks (within the cap).
    `offset`: where in the background contacts this load starts."""
    sizes, bootstrap = rig.ctx.sizes, rig.ctx.bootstrap
    rate, probe_rate, duration, cap = sizes.da_rate, sizes.da_probe_rate, sizes.da_duration, sizes.time_cap
    before = await asyncio.to_thread(received, rig.receiver_url)
    sent, seconds = await load(bootstrap, rig.background[offset:] or rig.background, rate, probe_rate, duration,
                                probes)
    rig.verified += len(probes.sent)
    await wait_delivered(rig.receiver_url, rig.verified, cap)
    arrived = await asyncio.to_thread(arrivals, rig.receiver_url)
    by_reference = await asyncio.to_thread(references, rig.notifications.url, rig.keys)
    counts = await asyncio.to_thread(received, rig.receiver_url)
    emitted = await incident_times(bootstrap, probes.contact_ids)
    delivered = {ref: arrived[by_reference[ref]] for ref in probes.sent
                 if ref in by_reference and by_reference[ref] in arrived}
    latencies = [(at - probes.sent[ref]) * 1000 for ref, at in delivered.items()]
    halves = [ref for ref in delivered if ref in emitted]
    first_half = [(emitted[r] - probes.sent[r]) * 1000 for r in halves]
    second_half = [(delivered[r] - emitted[r]) * 1000 for r in halves]
    timeline = [{"sent": probes.sent[r], "contacts_ms": round(a, 1), "notifications_ms": round(b, 1)}
                for r, a, b in zip(halves, first_half, second_half, strict=True)]
    (rig.ctx.logs / "da-webhook-probes.json").write_text(json.dumps(sorted(timeline, key=lambda p: p["sent"])))
    return DaWebhookResult(
        probes=len(probes.sent), delivered=len(latencies), p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99), max_ms=max(latencies) if latencies else None, background=sent,
        background_rate=sent / seconds if seconds else 0.0, target_rate=rate, probe_rate=probe_rate,
        duration=duration, rejected=counts["rejected"] - before["rejected"],
        duplicates=counts["duplicates"] - before["duplicates"], time_cap=cap,
        contacts_p50_ms=percentile(first_half, 0.5), notifications_p50_ms=percentile(second_half, 0.5),
        contacts_p99_ms=percentile(first_half, 0.99), notifications_p99_ms=percentile(second_half, 0.99))


async def measure(ctx: BenchContext, seed: int) -> DaWebhookResult:
    sizes = ctx.sizes
    step = ctx.progress.step("DA → webhook: starting", 4)
    async with rig(ctx, seed, step) as started:
        step.update(3, f"{sizes.da_rate:g} contacts/s + {sizes.da_probe_rate:g} DA/s for {sizes.da_duration:g} s, "
                       f"then the webhooks (cap {sizes.time_cap:.0f}s)")
        result = await window(started, Probes(first=10_000))  # references apart from the warm-up's
    ctx.progress.done(f"DA contact → verified webhook p50 {result.p50_ms or 0:,.1f} ms, "
                      f"p99 {result.p99_ms or 0:,.1f} ms ({result.delivered} of {result.probes}, "
                      f"background {result.background_rate:,.1f} contacts/s)")
    return result
