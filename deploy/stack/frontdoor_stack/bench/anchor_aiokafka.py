"""Anchor 2: a bare, well-written aiokafka loop doing what the contacts
intake does minus the database: consume a batch (`getmany`), parse and
validate each contact (json + the contracts' ContactSubmitted CloudEvent
model, as the service does), produce one small event per contact without
awaiting them one by one, await the batch, commit once per batch.

Run as its own process (as a service would be):
    python -m frontdoor_stack.bench.anchor_aiokafka --bootstrap B --source-topic IN --sink-topic OUT --count N
It stops after N contacts or --time-cap seconds and prints one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from frontdoor_contracts.contacts import ContactSubmitted, contact_id_for
from frontdoor_contracts.errors import InvalidEvent, parse_event

from .context import BenchContext
from .kafka_io import FlowResult, collect, preload

SOURCE = "urn:frontdoor:bench:anchor"
RECORDED_TYPE = "uk.gov.frontdoor.contacts.recorded.v1"
OUTPUT_NAMESPACE = uuid.UUID("0b6a3c55-6f55-4b5e-8d0a-3f1f5c2f9e01")
HEADERS = [("content-type", b"application/cloudevents+json")]


def recorded(raw: bytes) -> tuple[bytes, bytes] | None:
    """The output for one input record (key, value), or None for a bad one."""
    try:
        event = parse_event(raw, ContactSubmitted, lenient=True)
    except InvalidEvent:
        return None
    contact_id = str(contact_id_for(event.source, event.id))
    out = {
        "specversion": "1.0", "id": str(uuid.uuid5(OUTPUT_NAMESPACE, f"{event.source}\n{event.id}")),
        "source": SOURCE, "type": RECORDED_TYPE, "time": event.time.isoformat(), "subject": contact_id,
        "data": {"contact_id": contact_id, "referrer_source": event.data.referrer_source.value,
                 "children": len(event.data.children), "da_incident": event.data.da_incident is not None},
    }
    return contact_id.encode(), json.dumps(out, separators=(",", ":")).encode()


async def run(bootstrap: str, source_topic: str, sink_topic: str, count: int, time_cap: float,
              batch_size: int = 500) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(source_topic, bootstrap_servers=bootstrap, group_id="bench-anchor-aiokafka",
                                enable_auto_commit=False, auto_offset_reset="earliest", client_id="bench-anchor")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                                client_id="bench-anchor")
    await producer.start()
    await consumer.start()
    processed = invalid = batches = 0
    first: float | None = None
    deadline = time.monotonic() + time_cap
    try:
        while processed + invalid < count and time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=500, max_records=batch_size)
            if not fetched:
                continue
            first = first or time.monotonic()
            sends: list[asyncio.Future[Any]] = []
            for records in fetched.values():
                for record in records:
                    out = recorded(record.value or b"")
                    if out is None:
                        invalid += 1
                        continue
                    sends.append(await producer.send(sink_topic, out[1], key=out[0], headers=HEADERS))
            await asyncio.gather(*sends)  # every output acknowledged (acks=all) before the commit
            await consumer.commit()
            processed += len(sends)
            batches += 1
        elapsed = time.monotonic() - first if first is not None else 0.0
    finally:
        await consumer.stop()
        await producer.stop()
    return {"processed": processed, "invalid": invalid, "batches": batches, "seconds": round(elapsed, 3),
            "per_second": round(processed / elapsed, 1) if elapsed > 0 else 0.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="anchor_aiokafka", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--source-topic", required=True)
    parser.add_argument("--sink-topic", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--time-cap", type=float, default=120.0)
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.bootstrap, args.source_topic, args.sink_topic, args.count, args.time_cap))
    print(json.dumps(result), flush=True)
    return 0


SOURCE_TOPIC = "bench.anchor.contacts"
SINK_TOPIC = "bench.anchor.recorded"


def contact_id_of(event: dict[str, Any]) -> str | None:
    data = event.get("data")
    return str(data["contact_id"]) if isinstance(data, dict) and "contact_id" in data else None


async def measure(ctx: BenchContext) -> tuple[FlowResult, dict[str, Any]]:
    """Pre-load the contacts, run the loop in its own process, count its output."""
    count, cap = ctx.sizes.contacts, ctx.sizes.time_cap
    step = ctx.progress.step("bare aiokafka loop: pre-loading", count)
    await preload(ctx.bootstrap, SOURCE_TOPIC, ((c.key, c.value) for c in ctx.contacts), step.update)
    step = ctx.progress.step("bare aiokafka loop", count)
    with open(ctx.logs / "anchor-aiokafka.log", "ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "frontdoor_stack.bench.anchor_aiokafka", "--bootstrap", ctx.bootstrap,
            "--source-topic", SOURCE_TOPIC, "--sink-topic", SINK_TOPIC, "--count", str(count),
            "--time-cap", str(cap), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=log,
        )
        try:
            tally, _ = await collect(ctx.bootstrap, SINK_TOPIC, count, cap + 10, select=contact_id_of,
                                     on_progress=lambda t: step.update(t.distinct),
                                     still_running=lambda: process.returncode is None)
            async with asyncio.timeout(30):
                out, _ = await process.communicate()
        except BaseException:
            if process.returncode is None:
                process.kill()  # interrupted or stuck: leave nothing running
            raise
    lines = out.decode(errors="replace").strip().splitlines()
    inner: dict[str, Any] = json.loads(lines[-1]) if lines else {}
    flow = FlowResult.of(tally, {c.contact_id for c in ctx.contacts}, cap)
    ctx.progress.done(f"bare aiokafka loop {flow.per_second:,.0f} msg/s ({flow.arrived:,} of {count:,})")
    return flow, inner


if __name__ == "__main__":
    sys.exit(main())
