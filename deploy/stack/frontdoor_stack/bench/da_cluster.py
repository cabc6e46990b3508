"""The DA part again on a replicated cluster: a police DA contact to the
school's signed webhook under the same load, with three KRaft brokers on
this machine (`kafka_cluster`, every declared topic replicated three times
with min.insync.replicas=2, so each acks=all write waits for a second copy
on another broker), fresh contacts and notifications services and the demo
school system on it, as `da_webhook` runs them on the single broker. The
same run's single-broker line stands beside it; the single broker idles
meanwhile (its own JVM, no traffic)."""

from __future__ import annotations

import asyncio
import dataclasses

from ..kafka_cluster import KafkaCluster
from ..ports import free_port
from ..topics import ensure_topics
from .context import BenchContext
from .da_load import DaWebhookResult, Probes
from .da_webhook import rig, window

BROKERS = 3
NAME = "da-webhook-3-brokers"


async def measure(ctx: BenchContext, seed: int) -> DaWebhookResult:
    sizes = ctx.sizes
    step = ctx.progress.step("DA → webhook, 3 brokers", 4)
    step.update(0, f"starting {BROKERS} brokers")
    cluster = KafkaCluster(ctx.workdir / "kafka-cluster", [(free_port(), free_port()) for _ in range(BROKERS)])
    await asyncio.to_thread(cluster.start)
    try:
        await ensure_topics(cluster.bootstrap, replication_factor=BROKERS)
        async with rig(dataclasses.replace(ctx, bootstrap=cluster.bootstrap), seed, step, name=NAME) as started:
            step.update(3, f"{sizes.da_rate:g} contacts/s + {sizes.da_probe_rate:g} DA/s for "
                           f"{sizes.da_duration:g} s on {BROKERS} brokers, then the webhooks")
            result = await window(started, Probes(first=20_000))  # references apart from the other DA parts'
    finally:
        await asyncio.to_thread(cluster.stop)
    ctx.progress.done(f"DA contact → verified webhook on {BROKERS} brokers p50 {result.p50_ms or 0:,.1f} ms, "
                      f"p99 {result.p99_ms or 0:,.1f} ms ({result.delivered} of {result.probes}, "
                      f"background {result.background_rate:,.1f} contacts/s)")
    return result
