"""`frontdoor-stack bench`: one run, in order: a fresh Kafka broker on free
ports with the declared topics, the payloads, the anchors (Kafka's tools,
the bare aiokafka loop, the bare FastAPI endpoint), then the project
(contacts from Kafka, contacts over HTTP, allocation, the same two with two
workers per service on PostgreSQL, a DA contact to the
school's signed webhook under a background load, the same on a cluster of
three brokers of its own, the same while 32 clients
hammer the schools' sign-in page, `frontdoor-outcomes rebuild` of
synthetic events), each service its own process. `wrk` and `hey` are
needed only by the anchors and the contacts part. A step that
fails is reported and the rest still run; every wait
is bounded in count and time. Writes deploy/bench/results.md and prints it
(`--only` runs some parts, and writes elsewhere unless told)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.markdown import Markdown

from ..foreground import interrupt_on_sigterm
from ..kafka_broker import KafkaBroker, free_port
from ..topics import ensure_topics
from . import (
    allocation,
    anchor_aiokafka,
    anchor_fastapi,
    anchors_kafka_tools,
    contacts_http,
    contacts_kafka,
    da_cluster,
    da_sign_in_hammer,
    da_webhook,
    outcomes_rebuild,
    report,
    workers_postgresql,
)
from .context import BenchContext, BenchProgress, Sizes
from .http_load import LoadError as BenchError
from .http_load import require
from .kafka_io import create_topics
from .payloads import contacts, write_body_lines, write_event_lines
from .processes import BenchService, stop_all

T = TypeVar("T")
# The parts `--only` selects, and the progress steps each has.
PARTS = {"anchors": 3, "contacts": 2, "allocation": 1, "two-workers-postgresql": 2, "da-webhook": 1,
         "da-webhook-3-brokers": 1, "da-sign-in-hammer": 1, "outcomes-rebuild": 2}
HTTP_LOAD_PARTS = frozenset({"anchors", "contacts"})  # the parts that load with wrk and hey
BENCH_TOPICS = (anchors_kafka_tools.TOOLS_TOPIC, anchor_aiokafka.SOURCE_TOPIC, anchor_aiokafka.SINK_TOPIC)


async def _guarded(results: report.Results, name: str, progress: BenchProgress, step: Awaitable[T]) -> T | None:
    """Run one step; a failure is recorded (no personal data: our own messages) and the bench goes on."""
    try:
        return await step
    except Exception as exc:
        message = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        results.failures[name] = message
        progress.done(f"[red]{name} failed[/red]: {message}")
        return None


async def _run(bootstrap: str, workdir: Path, sizes: Sizes, seed: int, progress: BenchProgress,
               load_before: float, parts: frozenset[str]) -> report.Results:
    results = report.Results(sizes, load_before=load_before, parts=None if parts == frozenset(PARTS) else parts)
    # the Kafka paths' payloads only when a part uses them (a DA-only run makes two)
    count = sizes.contacts if parts & {"anchors", "contacts", "two-workers-postgresql"} else 2
    step = progress.step("topics and payloads", count)
    await ensure_topics(bootstrap)
    await create_topics(bootstrap, BENCH_TOPICS)
    *items, extra = await asyncio.to_thread(contacts, count + 1, seed)
    step.update(count)
    ctx = BenchContext(
        bootstrap=bootstrap, workdir=workdir, sizes=sizes, contacts=items, progress=progress,
        events_file=write_event_lines(items, workdir / "contacts.jsonl"),
        bodies_file=write_body_lines(items, workdir / "contact-bodies.jsonl"),
        body_file=write_body_lines([extra], workdir / "contact-body.json"),
        body_received_at=str(json.loads(extra.value)["data"]["received_at"]),
    )
    progress.done(f"{len(items):,} synthetic contacts (seed {seed}), "
                  f"{ctx.events_file.stat().st_size / len(items):,.0f} bytes each on Kafka")

    if "anchors" in parts:
        tools = await _guarded(results, "Kafka tools", progress, anchors_kafka_tools.measure(ctx))
        if tools:
            results.producer, results.consumer = tools
        loop = await _guarded(results, "bare aiokafka loop", progress, anchor_aiokafka.measure(ctx))
        results.bare_loop = loop[0] if loop else None
        results.bare_http = await _guarded(results, "bare FastAPI", progress, anchor_fastapi.measure(ctx))

    if "contacts" in parts:
        service = contacts_kafka.contacts_service(ctx)
        try:
            intake = await _guarded(results, "contacts Kafka intake", progress, contacts_kafka.measure(ctx, service))
            if intake:
                results.contacts_kafka, api_key = intake
                results.contacts_http = await _guarded(results, "contacts HTTP intake", progress,
                                                       contacts_http.measure(ctx, service, api_key))
            else:
                progress.done("contacts HTTP intake skipped: no contacts service")
        finally:
            await asyncio.to_thread(service.stop)

    if "allocation" in parts:
        allocator: BenchService = allocation.allocation_service(ctx)
        try:
            results.allocation = await _guarded(results, "allocation", progress, allocation.measure(ctx, allocator))
        finally:
            await asyncio.to_thread(allocator.stop)

    if "two-workers-postgresql" in parts:  # after the SQLite lines: it empties their topics and loads them again
        scaled = await _guarded(results, "two workers on PostgreSQL", progress, workers_postgresql.measure(ctx))
        if scaled:
            (results.contacts_kafka_postgresql, contacts_cpu), (results.allocation_postgresql, cases_cpu) = scaled
            results.postgresql_cpu_seconds = {"contacts": contacts_cpu, "allocation": cases_cpu}

    if "da-webhook" in parts:
        results.da_webhook = await _guarded(results, "DA contact → school webhook", progress,
                                            da_webhook.measure(ctx, seed))

    if "da-webhook-3-brokers" in parts:
        results.da_webhook_cluster = await _guarded(results, "DA contact → school webhook, 3 brokers", progress,
                                                    da_cluster.measure(ctx, seed))

    if "da-sign-in-hammer" in parts:
        results.da_sign_in_hammer = await _guarded(results, "DA contact → school webhook, sign-in hammered",
                                                   progress, da_sign_in_hammer.measure(ctx, seed))

    if "outcomes-rebuild" in parts:  # last: its events land on topics the allocation part's service reads
        results.outcomes_rebuild = await _guarded(results, "outcomes rebuild", progress,
                                                  outcomes_rebuild.measure(ctx))
    return results


def run(run_dir: Path, sizes: Sizes, seed: int = 2024, results_path: Path | None = None,
        only: frozenset[str] | None = None) -> int:
    """The whole bench, or the `only` parts of it (then the results go to
    the scratch directory unless `results_path` says otherwise: a partial
    run does not replace deploy/bench/results.md)."""
    parts = only or frozenset(PARTS)
    unknown = parts - set(PARTS)
    if unknown:
        raise ValueError(f"unknown bench parts {sorted(unknown)}; choose from {sorted(PARTS)}")
    interrupt_on_sigterm()
    console = Console()
    try:
        for tool in ("wrk", "hey") if parts & HTTP_LOAD_PARTS else ():
            require(tool)
    except BenchError as exc:
        console.print(f"bench: {exc}")
        return 2
    workdir = run_dir / "bench"
    shutil.rmtree(workdir, ignore_errors=True)  # a fresh broker, databases and logs every run
    (workdir / "logs").mkdir(parents=True)
    started, load_before = time.monotonic(), os.getloadavg()[0]
    broker = KafkaBroker(workdir / "kafka", port=free_port(), controller_port=free_port())
    console.print(f"bench: {', '.join(p for p in PARTS if p in parts)}; {sizes.contacts:,} contacts, "
                  f"{sizes.decisions:,} decisions, {sizes.duration:g} s HTTP loads, {sizes.da_duration:g} s of DA "
                  f"contacts beside {sizes.da_rate:g} contacts/s, {sizes.rebuild_events:,} events for the outcomes "
                  f"rebuild, {sizes.time_cap:g} s caps; scratch and logs in "
                  f"{workdir}")
    if parts != frozenset(PARTS) and results_path is None:
        results_path = workdir / "results.md"
    try:
        with broker, BenchProgress(1 + sum(PARTS[p] for p in parts), console) as progress:
            progress.say(f"Kafka is up on {broker.bootstrap}")
            try:
                results = asyncio.run(_run(broker.bootstrap, workdir, sizes, seed, progress, load_before, parts))
            finally:
                stop_all()  # the services before the broker, whatever happened
    except KeyboardInterrupt:
        console.print("\nbench interrupted; everything it started is stopped")
        return 130
    results.seconds = time.monotonic() - started
    path = report.write(results, results_path)
    console.print()
    console.print(Markdown(path.read_text()))
    console.print(f"\nwritten to {path}")
    if path.resolve() != report.results_file().resolve() and report.record_one_million(results):
        console.print(f"the 1M rebuild figure also went into {report.results_file()}")
    return 1 if results.failures else 0
