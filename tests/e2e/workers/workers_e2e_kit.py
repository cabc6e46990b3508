"""Several `consume` workers per service as real processes on PostgreSQL and the session's broker (unique
module name): a database per service, migrated; consumer groups starting at the end of what each service
reads (the session broker holds other tests' records); the notifications directory holding one school whose
webhooks go to the demo school system (in this process, counting deliveries by `webhook-id`), its pupils
enrolled; workers started, SIGKILLed and restarted; and what each database holds, read with plain SQL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_contracts.topics import topics_consumed_by
from frontdoor_platform.database import build_engine
from frontdoor_stack import processes
from frontdoor_stack.kafka_broker import run_coroutine_in_thread
from frontdoor_stack.school_receiver import SchoolSystem, Secrets, recipient_path, serve, webhook_url

SERVICES = ("contacts", "allocation", "notifications", "outcomes")
SCHOOL = "100018"
SECRET = "whsec_" + "d29ya2Vycy1lMmUtc2Nob29sLXNlY3JldC0zMmJ5dGVz"  # base64 of 32 bytes, this test's own
DEADLINE_SECONDS = 240.0  # a hang guard only: everything settles long before, or the test fails saying so


async def _group_at_the_end(bootstrap: str, group: str, service: str) -> None:
    """Commit `group`'s offsets at the end of every topic `service` consumes, as they are now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        existing = await consumer.topics()
        partitions = [TopicPartition(spec.name, p) for spec in topics_consumed_by(service)
                      if spec.name in existing for p in range(spec.partitions)]
        if partitions:
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def _migrate(service: str, engine: Engine) -> None:
    module = __import__(f"{service}.migrations", fromlist=["migrate"])
    module.migrate(engine)


@dataclass
class Worker:
    service: str
    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Fleet:
    """Every service's database, consumer group and workers."""

    bootstrap: str
    root: Path
    urls: dict[str, str]
    engines: dict[str, Engine]
    groups: dict[str, str]
    workers: list[Worker] = field(default_factory=list)
    started: int = 0

    def env(self, service: str) -> dict[str, str]:
        prefix = service.upper()
        env = {**os.environ, f"{prefix}_DATABASE_URL": self.urls[service], f"{prefix}_KAFKA_BOOTSTRAP": self.bootstrap,
               f"{prefix}_CONSUMER_GROUP": self.groups[service], f"{prefix}_CONSUMER_BATCH_SIZE": "25",
               f"{prefix}_PUBLISH_TIMEOUT_SECONDS": "5", f"{prefix}_LOG_LEVEL": "WARNING"}
        if service == "notifications":
            env |= {"NOTIFICATIONS_LOCAL_WEBHOOKS": "true", "NOTIFICATIONS_TIMERS_INTERVAL_SECONDS": "1"}
        if service == "outcomes":
            env |= {"OUTCOMES_STREAM_ID": self.groups[service], "OUTCOMES_STREAM_SESSION_TIMEOUT_SECONDS": "6",
                    "OUTCOMES_STREAM_DATA_DIR": str(self.root / f"stream-{self.started}")}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        return env

    def start(self, service: str) -> Worker:
        self.started += 1  # before env(): a worker's own stream folder
        name = f"{service}-{self.started}"
        log = self.root / f"{name}.log"
        process = processes.start([sys.executable, "-m", f"{service}.main", "consume"], self.env(service), log)
        worker = Worker(service, name, process, log)
        self.workers.append(worker)
        return worker

    def of(self, service: str) -> list[Worker]:
        return [w for w in self.workers if w.service == service and w.process.poll() is None]

    def kill(self, worker: Worker) -> None:
        """SIGKILL: no clean-up, no leaving the group (its session runs out), its connections dropped."""
        processes.kill(worker.process)

    def stop(self, worker: Worker) -> None:
        """SIGTERM: the worker finishes its batch, gives its claims back and leaves the group."""
        worker.process.send_signal(signal.SIGTERM)
        worker.process.wait(timeout=60)

    def stop_all(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                processes.stop(worker.process)
        for engine in self.engines.values():
            engine.dispose()

    def count(self, service: str, sql: str) -> int:
        with self.engines[service].connect() as connection:
            return int(connection.execute(text(sql)).scalar() or 0)

    def rows(self, service: str, sql: str) -> list[Any]:
        with self.engines[service].connect() as connection:
            return list(connection.execute(text(sql)).all())

    def dead(self) -> list[str]:
        """Workers that stopped without being told to (their logs say why)."""
        return [w.name for w in self.workers if w.process.poll() not in (None, 0, -signal.SIGKILL, -signal.SIGTERM)]


def fleet(bootstrap: str, postgres_server: Any, root: Path) -> Fleet:
    urls, engines, groups = {}, {}, {}
    for service in SERVICES:
        name = f"workers_{service}_{uuid.uuid4().hex[:8]}"
        urls[service] = postgres_server if isinstance(postgres_server, str) else postgres_server.create_database(name)
        engines[service] = build_engine(urls[service])
        _migrate(service, engines[service])
        groups[service] = f"{service}-workers-{uuid.uuid4().hex[:8]}"  # outcomes: its faust app's id
        run_coroutine_in_thread(_group_at_the_end(bootstrap, groups[service], service))
    return Fleet(bootstrap, root, urls, engines, groups)


def school_system(fleet: Fleet, port: int, upns: list[str]) -> Iterator[SchoolSystem]:
    """The demo school system on `port`, and the school in the notifications directory with its webhook and
    signing secret, its pupils (`upns`) enrolled since last September."""
    from notifications import directory, store
    from notifications.settings import Settings

    path = recipient_path("schools", SCHOOL)
    system = SchoolSystem(Secrets(given={path: [SECRET]}), out=open(os.devnull, "w"))  # noqa: SIM115
    server = serve(system, port)
    threading.Thread(target=server.serve_forever, name="school-system", daemon=True).start()
    now = datetime.now(UTC)
    with Session(fleet.engines["notifications"]) as session:
        directory.put_recipient(session, SCHOOL, kind=directory.SCHOOL, name="Workers Primary", phase="primary",
                                channel="webhook", webhook_url=webhook_url(f"http://127.0.0.1:{port}", path),
                                alert_email=None, calendar=None, now=now)
        directory.rotate_secret(session, SCHOOL, SECRET, now, timedelta(0), Settings().sealing_keys)
        for upn in upns:
            store.record_enrolment(session, upn=upn, school_urn=SCHOOL, starts_on=date(2025, 9, 3), ends_on=None,
                                   event_id=uuid.uuid4(), now=now)
        session.commit()
    try:
        yield system
    finally:
        server.shutdown()


def wait_until(done: Callable[[], bool], what: str, fleet: Fleet | None = None) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not done():
        if fleet is not None and fleet.dead():
            raise AssertionError(f"workers died while waiting for {what}: {fleet.dead()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"never: {what}")
        time.sleep(0.25)


async def _events(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    """Every CloudEvent on `topic` now (other tests' too), read from the start."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=2000, max_records=5000):
            for records in batch.values():
                for record in records:
                    with contextlib.suppress(ValueError):
                        found.append(json.loads(record.value or b""))
    finally:
        await consumer.stop()
    return [event for event in found if isinstance(event, dict) and isinstance(event.get("data"), dict)]


def published(bootstrap: str, topic: str, field_name: str, ids: set[str]) -> Counter[str]:
    """How often each event about `ids` (by its `data.<field_name>`) was published on `topic`, by event id."""
    events = run_coroutine_in_thread(_events(bootstrap, topic))
    return Counter(e["id"] for e in events if str(e["data"].get(field_name)) in ids)
