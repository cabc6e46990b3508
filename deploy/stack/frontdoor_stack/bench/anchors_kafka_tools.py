"""Anchor 1: Kafka's own ProducerPerformance and ConsumerPerformance
(`org.apache.kafka:kafka-tools`, pinned in deploy/kafka/tools-pom.xml,
fetched with mvn into .cache/kafka-tools once) on the bench's payloads."""

from __future__ import annotations

import asyncio
import hashlib
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ..paths import kafka_deploy_dir, repo_root
from .context import BenchContext
from .subprocesses import run_bounded

FETCH_MARKER = ".frontdoor-fetched"
PRODUCER = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER = "org.apache.kafka.tools.ConsumerPerformance"
# "20000 records sent, 9000.9 records/sec (8.53 MB/sec), 120.3 ms avg latency, 400.0 ms max latency, ..."
PRODUCER_SUMMARY = re.compile(
    r"(?P<records>\d+) records sent, (?P<rate>[\d.]+) records/sec \((?P<mb>[\d.]+) MB/sec\), "
    r"(?P<avg>[\d.]+) ms avg latency, (?P<max>[\d.]+) ms max latency(?:, (?P<p50>\d+) ms 50th, "
    r"(?P<p95>\d+) ms 95th, (?P<p99>\d+) ms 99th)?"
)


class KafkaToolsError(RuntimeError):
    pass


def tools_pom() -> Path:
    return kafka_deploy_dir() / "tools-pom.xml"


def tools_cache() -> Path:
    return repo_root() / ".cache" / "kafka-tools"


def _fingerprint(pom: Path) -> str:
    return hashlib.sha256(pom.read_bytes()).hexdigest()


def fetch(cache: Path | None = None) -> Path:
    """The kafka-tools jars (and an SLF4J binding), fetched once; their directory."""
    libs = (cache or tools_cache()) / "libs"
    marker = libs / FETCH_MARKER
    pom = tools_pom()
    if marker.is_file() and marker.read_text().strip() == _fingerprint(pom):
        return libs
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaToolsError("mvn is not on PATH: it fetches Kafka's performance tools from Maven Central")
    staging = libs.with_name("libs.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    result = subprocess.run(
        [mvn, "-B", "-q", "-f", str(pom), "dependency:copy-dependencies", "-DincludeScope=runtime",
         f"-DoutputDirectory={staging}"],
        capture_output=True, text=True, timeout=600,
    )
    if result.returncode != 0 or not any(staging.glob("kafka-tools-*.jar")):
        raise KafkaToolsError(f"mvn could not fetch kafka-tools:\n{result.stdout}\n{result.stderr}")
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
    (libs / FETCH_MARKER).write_text(_fingerprint(pom) + "\n")
    return libs


@dataclass(frozen=True)
class ProducerResult:
    records: int
    per_second: float
    mb_per_second: float
    p99_ms: float | None


@dataclass(frozen=True)
class ConsumerResult:
    records: int
    per_second: float  # fetch.nMsg.sec: messages per second while fetching (group join excluded)
    per_second_overall: float  # nMsg.sec: including the group join


def _java(libs: Path, log_file: Path) -> list[str]:
    java = shutil.which("java")
    if java is None:
        raise KafkaToolsError("java is not on PATH (Java 17 runs Kafka's tools)")
    return [java, "-Xmx384m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={kafka_deploy_dir() / 'log4j2.xml'}", f"-Dfrontdoor.kafka.log={log_file}",
            "-cp", str(libs / "*")]


async def _run(command: list[str], timeout: float) -> str:
    return await run_bounded(command, timeout, KafkaToolsError, f"Kafka tool {command[-1]}")


def parse_producer(output: str) -> ProducerResult:
    matches = list(PRODUCER_SUMMARY.finditer(output))
    if not matches:
        raise KafkaToolsError(f"no ProducerPerformance summary in its output:\n{output[-2000:]}")
    last = matches[-1]  # the final line; earlier ones are the 5-second windows
    return ProducerResult(int(last["records"]), float(last["rate"]), float(last["mb"]),
                          float(last["p99"]) if last["p99"] else None)


def parse_consumer(output: str) -> ConsumerResult:
    lines = [line.strip() for line in output.splitlines() if line.count(",") >= 5]
    for index, line in enumerate(lines[:-1]):
        if line.startswith("start.time"):
            header = [name.strip() for name in line.split(",")]
            values = dict(zip(header, (value.strip() for value in lines[index + 1].split(",")), strict=False))
            try:
                return ConsumerResult(int(values["data.consumed.in.nMsg"]), float(values["fetch.nMsg.sec"]),
                                      float(values["nMsg.sec"]))
            except (KeyError, ValueError):
                break
    raise KafkaToolsError(f"no ConsumerPerformance figures in its output:\n{output[-2000:]}")


async def producer_performance(libs: Path, bootstrap: str, topic: str, records: int, payload_file: Path,
                               log_file: Path, timeout: float = 120.0) -> ProducerResult:
    output = await _run(
        [*_java(libs, log_file), PRODUCER, "--topic", topic, "--num-records", str(records),
         "--payload-file", str(payload_file), "--throughput", "-1",
         "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all", "enable.idempotence=true"],
        timeout,
    )
    return parse_producer(output)


async def consumer_performance(libs: Path, bootstrap: str, topic: str, records: int, log_file: Path,
                               timeout: float = 120.0) -> ConsumerResult:
    output = await _run(
        [*_java(libs, log_file), CONSUMER, "--bootstrap-server", bootstrap, "--topic", topic,
         "--messages", str(records), "--timeout", "30000"],
        timeout,
    )
    return parse_consumer(output)


TOOLS_TOPIC = "bench.kafka-tools"


async def measure(ctx: BenchContext) -> tuple[ProducerResult, ConsumerResult]:
    """ProducerPerformance then ConsumerPerformance, N records of the contacts."""
    count = ctx.sizes.contacts
    step = ctx.progress.step("Kafka tools: fetching kafka-tools", 2)
    libs = await asyncio.to_thread(fetch)
    log_file = ctx.logs / "kafka-tools.log"
    step.update(0, "ProducerPerformance")
    produced = await producer_performance(libs, ctx.bootstrap, TOOLS_TOPIC, count, ctx.events_file, log_file)
    step.update(1, "ConsumerPerformance")
    consumed = await consumer_performance(libs, ctx.bootstrap, TOOLS_TOPIC, count, log_file)
    step.update(2)
    ctx.progress.done(f"Kafka ProducerPerformance {produced.per_second:,.0f} msg/s, "
                      f"ConsumerPerformance {consumed.per_second:,.0f} msg/s")
    return produced, consumed
