"""End-to-end kit: the real outcomes service in its own process group (the
API and its faust worker child) against the session's broker, its
`rebuild` command, and plain Kafka helpers to publish CloudEvents in bulk
and read whole topics up to their end offsets."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import create_engine, text

from frontdoor_contracts.envelope import CloudEvent, encode_event
from frontdoor_stack import processes
from frontdoor_stack.kafka_broker import free_port

CONSUMED = "frontdoor_outcomes_consumed_total"
CONTENT_TYPE = ("content-type", b"application/cloudevents+json")


@dataclass
class OutcomesService:
    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    log: Path
    analyst: str
    manager: str

    @property
    def stream_id(self) -> str:
        return self.env["OUTCOMES_STREAM_ID"]

    @property
    def database_url(self) -> str:
        return self.env["OUTCOMES_DATABASE_URL"]

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def cli(env: dict[str, str], *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "outcomes.main", *args], env=env, capture_output=True, text=True,
                          check=True, timeout=timeout)


def start_outcomes(tmp: Path, bootstrap: str, previous: OutcomesService | None = None,
                   review_seconds: float = 1.0, timeout: float = 120.0,
                   settings: dict[str, str] | None = None) -> OutcomesService:
    """Start `frontdoor-outcomes serve` with a stream id (faust app id: its
    consumer group and changelog topics) of its own, and any other `settings`
    (environment variables); pass `previous` to restart it on the same
    database, stream id, data directory and settings."""
    if previous is None:
        env = {**os.environ, **(settings or {}), "OUTCOMES_KAFKA_BOOTSTRAP": bootstrap,
               "OUTCOMES_DATABASE_URL": f"sqlite:///{tmp / 'outcomes.db'}",
               "OUTCOMES_STREAM_ID": f"outcomes-e2e-{uuid.uuid4().hex[:10]}",
               "OUTCOMES_STREAM_DATA_DIR": str(tmp / "stream"),
               "OUTCOMES_REVIEW_SECONDS": str(review_seconds),
               "OUTCOMES_REVIEW_SLICE": "25"}  # many slices a round: what a large authority's families take
        analyst = cli(env, "create-client", "--name", "e2e-analyst", "--roles", "analyst").stdout.strip()
        manager = cli(env, "create-client", "--name", "e2e-manager", "--roles", "manager").stdout.strip()
    else:
        env, analyst, manager = previous.env, previous.analyst, previous.manager
    env = {**env, "OUTCOMES_PORT": str(free_port())}
    log = tmp / "outcomes.log"
    url = f"http://127.0.0.1:{env['OUTCOMES_PORT']}"
    process = processes.start_and_wait([sys.executable, "-m", "outcomes.main", "serve"], env, log, url + "/readyz",
                                       timeout=timeout, name="outcomes")
    return OutcomesService(process, url, env, log, analyst, manager)


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    # `processes.start` gave the service a session of its own: its group is its pid (the API and the worker).
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def stop_outcomes(service: OutcomesService) -> None:
    processes.stop(service.process)
    _signal_group(service.process, signal.SIGKILL)  # anything the API left behind


def crash_outcomes(service: OutcomesService) -> None:
    """SIGKILL the whole process group at once: the API and its faust worker, no clean-up."""
    _signal_group(service.process, signal.SIGKILL)
    service.process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(service.process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    raise AssertionError("the outcomes process group outlived SIGKILL")


def metric_sum(service: OutcomesService, name: str) -> float:
    """The sum of every sample of `name` (all labels) on /metrics."""
    total = 0.0
    for line in httpx.get(f"{service.url}/metrics", timeout=10).text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def kpis(service: OutcomesService, start: datetime, end: datetime) -> dict[str, Any]:
    response = httpx.get(f"{service.url}/v1/kpis", params={"start": start.isoformat(), "end": end.isoformat()},
                         headers=service.headers(service.analyst), timeout=60)
    response.raise_for_status()
    report: dict[str, Any] = response.json()
    return report


def without_generated_at(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "generated_at"}


@dataclass(frozen=True)
class Rebuilt:
    report: dict[str, Any]
    seconds: float
    summary: str


def rebuild(service: OutcomesService, into: Path, report: Path, start: datetime, end: datetime) -> Rebuilt:
    """`frontdoor-outcomes rebuild --into <sqlite> --report <file>` with the service's settings."""
    began = time.perf_counter()
    done = cli(service.env, "rebuild", "--into", f"sqlite:///{into}", "--report", str(report), "--quiet",
               "--start", start.isoformat(), "--end", end.isoformat(), timeout=1800)
    seconds = time.perf_counter() - began
    return Rebuilt(json.loads(report.read_text()), seconds, done.stderr.strip().splitlines()[-1])


async def until(check: Callable[[], Any], timeout: float, every: float = 1.0, what: str = "condition") -> Any:
    """Poll `check()` (a coroutine function, or a plain one run in a thread) until it returns something
    truthy; that value. Fails after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: Any = None
    while loop.time() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            last = await check() if asyncio.iscoroutinefunction(check) else await asyncio.to_thread(check)
            if last:
                return last
        await asyncio.sleep(every)
    raise AssertionError(f"{what} not reached within {timeout:.0f} s (last: {last!r})")


# --- Kafka ----------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Out:
    """One event to publish: topic, key (the topic's declared key) and the CloudEvent."""

    topic: str
    key: str
    event: CloudEvent[Any]


async def publish_all(bootstrap: str, records: Iterable[Out]) -> int:
    """Publish in order through one idempotent producer (acks=all); how many."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=10,
                                max_batch_size=256 * 1024)
    await producer.start()
    count = 0
    try:
        pending = []
        for out in records:
            pending.append(await producer.send(out.topic, encode_event(out.event), key=out.key.encode(),
                                               headers=[CONTENT_TYPE]))
            count += 1
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return count


@dataclass
class TopicRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: dict[str, Any] = field(default_factory=dict)


async def partitions_of(bootstrap: str, topics: list[str]) -> list[TopicPartition]:
    """Every partition of those of `topics` that exist."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics(topics)
    finally:
        await admin.close()
    return sorted(TopicPartition(t["topic"], p["partition"]) for t in described if t["error_code"] == 0
                  for p in t["partitions"])


async def read_topics(bootstrap: str, topics: list[str]) -> list[TopicRecord]:
    """Every record of `topics` up to their end offsets now (no group)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, topics)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        found: list[TopicRecord] = []
        remaining = {tp for tp in partitions if ends[tp] > 0}
        deadline = asyncio.get_running_loop().time() + 300
        while remaining and asyncio.get_running_loop().time() < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=1000, max_records=5000)
            for tp, got in batch.items():
                found += [TopicRecord(r.topic, r.partition, r.offset, r.key, json.loads(r.value or b"{}"))
                          for r in got if r.offset < ends[tp]]
            for tp in list(remaining):
                if await consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        assert not remaining, f"could not read {sorted(map(str, remaining))} to their end"
        return found
    finally:
        await consumer.stop()


async def group_lag(bootstrap: str, group: str, topics: list[str]) -> dict[str, int]:
    """Records of `topics` past `group`'s committed offsets, by "topic/partition" (only those behind; a
    partition with no commit counts from its first offset)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
        partitions = await partitions_of(bootstrap, topics)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        behind: dict[str, int] = {}
        for tp in partitions:
            meta = committed.get(tp)
            at = meta.offset if meta is not None and meta.offset >= 0 else starts[tp]
            if ends[tp] > at:
                behind[f"{tp.topic}/{tp.partition}"] = ends[tp] - at
        return behind
    finally:
        await consumer.stop()
        await admin.close()


async def committed_offsets(bootstrap: str, group: str) -> dict[str, int]:
    """`group`'s committed offsets, by "topic/partition"."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    return {f"{tp.topic}/{tp.partition}": meta.offset for tp, meta in sorted(committed.items())}


async def wait_caught_up(bootstrap: str, group: str, topics: list[str], timeout: float) -> float:
    """Wait until `group` committed every record of `topics`; the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    behind: dict[str, int] = {}
    while loop.time() < began + timeout:
        behind = await group_lag(bootstrap, group, topics)
        if not behind:
            return loop.time() - began
        await asyncio.sleep(1.0)
    raise AssertionError(f"stream group {group} has not committed every record after {timeout:.0f} s: "
                         f"records behind by partition {behind}")


async def stream_lag(bootstrap: str, database_url: str, topics: list[str]) -> dict[str, int]:
    """Records of `topics` past the next offsets the stream recorded as applied (its own, in SQL, beside what
    the records changed: stream/gaps.py), by "topic/partition" (only those behind)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            applied = {f"{t}/{p}": n for t, p, n in connection.execute(
                text("SELECT topic, partition, next_offset FROM stream_offsets"))}
    finally:
        engine.dispose()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(bootstrap, topics)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
    behind = {}
    for tp in partitions:
        key = f"{tp.topic}/{tp.partition}"
        at = applied.get(key, starts[tp])
        if ends[tp] > at:
            behind[key] = ends[tp] - at
    return behind


async def wait_applied(bootstrap: str, database_url: str, topics: list[str], timeout: float) -> float:
    """Wait until the stream applied every record of `topics` (its own offsets); the seconds it took."""
    loop = asyncio.get_running_loop()
    began = loop.time()
    behind: dict[str, int] = {}
    while loop.time() < began + timeout:
        behind = await stream_lag(bootstrap, database_url, topics)
        if not behind:
            return loop.time() - began
        await asyncio.sleep(1.0)
    raise AssertionError(f"the stream has not applied every record after {timeout:.0f} s: "
                         f"records behind by partition {behind}")
