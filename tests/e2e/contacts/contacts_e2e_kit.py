"""End-to-end kit: the real contacts service (its own process, as `make up`
runs it) and a plain Kafka client to publish and watch topics."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord

from frontdoor_stack import processes
from frontdoor_stack.kafka_broker import free_port


@dataclass
class ContactsService:
    url: str
    token: str
    read_only_token: str
    intake_only_token: str
    log: Path

    def headers(self, token: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}", **extra}


def _cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "contacts.main", *args], env=env, capture_output=True, text=True,
                            check=True, timeout=60)
    return result.stdout.strip()


def start_contacts(
    tmp: Path, bootstrap: str, wait_ready: bool = True, env_overrides: dict[str, str] | None = None,
    tokens: tuple[str, str, str] | None = None,
) -> tuple[subprocess.Popen[bytes], ContactsService]:
    """Start the service on `tmp`'s database; pass `tokens` to restart it
    on the same database without creating API clients again."""
    port = free_port()
    env = {**os.environ, "CONTACTS_KAFKA_BOOTSTRAP": bootstrap, "CONTACTS_PORT": str(port),
           "CONTACTS_DATABASE_URL": f"sqlite:///{tmp / 'contacts.db'}",
           "CONTACTS_CONSUMER_GROUP": f"contacts-e2e-{uuid.uuid4().hex[:8]}",
           "CONTACTS_PUBLISH_TIMEOUT_SECONDS": "3", **(env_overrides or {})}
    if tokens is None:
        # the MASH's front-door system records what any referrer said; the intake-only key is a police force's
        tokens = (_cli(env, "create-client", "--name", "e2e-front-door", "--roles", "intake,decide,read",
                       "--sources", "all"),
                  _cli(env, "create-client", "--name", "e2e-reader", "--roles", "read"),
                  _cli(env, "create-client", "--name", "e2e-intake", "--roles", "intake", "--sources", "police"))
    log = tmp / "contacts.log"
    service = ContactsService(f"http://127.0.0.1:{port}", *tokens, log)
    process = processes.start_and_wait([sys.executable, "-m", "contacts.main", "serve"], env, log,
                                       service.url + ("/readyz" if wait_ready else "/healthz"), name="contacts")
    return process, service


def stop(process: subprocess.Popen[bytes]) -> None:
    processes.stop(process)


class Kafka:
    """A plain Kafka client: publish raw bytes, read topics from the start."""

    def __init__(self, bootstrap: str):
        self.bootstrap = bootstrap

    async def publish(self, topic: str, value: bytes, key: str | None = None,
                      headers: list[tuple[str, bytes]] | None = None) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True)
        await producer.start()
        try:
            await producer.send_and_wait(topic, value, key=key.encode() if key else None, headers=headers or [])
        finally:
            await producer.stop()

    async def publish_events(self, topic: str, events: list[Any]) -> None:
        """Many events through one producer, keyed by their ids."""
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all", enable_idempotence=True,
                                    linger_ms=5)
        await producer.start()
        try:
            sent = [await producer.send(topic, e.model_dump_json().encode(), key=e.id.encode()) for e in events]
            await asyncio.gather(*sent)
        finally:
            await producer.stop()

    async def publish_event(self, topic: str, event: Any, key: str | None = None) -> None:
        await self.publish(topic, event.model_dump_json().encode(), key=key)

    async def collect(self, topic: str, match: Callable[[ConsumerRecord[bytes, bytes]], bool], *,
                      until: Callable[[list[ConsumerRecord[bytes, bytes]]], bool] | None = None,
                      timeout: float = 30.0, settle: float = 1.5) -> list[ConsumerRecord[bytes, bytes]]:
        """Every record of `topic` that matches, read from the beginning,
        waiting until `until(found)` (default: one found), then `settle`
        seconds more so that an unwanted duplicate would show."""
        until = until or (lambda found: len(found) >= 1)
        consumer = AIOKafkaConsumer(topic, bootstrap_servers=self.bootstrap, enable_auto_commit=False, group_id=None,
                                    auto_offset_reset="earliest")
        await consumer.start()
        found: list[ConsumerRecord[bytes, bytes]] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            settled_at: float | None = None
            while loop.time() < (settled_at or deadline):
                batch = await consumer.getmany(timeout_ms=200)
                found += [r for records in batch.values() for r in records if match(r)]
                if settled_at is None and until(found):
                    settled_at = loop.time() + settle
        finally:
            await consumer.stop()
        return found


def data_of(record: ConsumerRecord[bytes, bytes]) -> dict[str, Any]:
    """The event's data; {} for a record that is not a JSON object (another test's hostile bytes on the
    session broker's shared topics must not crash a matcher)."""
    try:
        document = json.loads(record.value or b"{}")
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return {}
    data = document.get("data", {}) if isinstance(document, dict) else {}
    return data if isinstance(data, dict) else {}


def header(record: ConsumerRecord[bytes, bytes], name: str) -> str | None:
    for key, value in record.headers or ():
        if key == name:
            return value.decode()
    return None


def metric(service: ContactsService, line_prefix: str) -> float:
    """The value of the first sample whose line starts with `line_prefix`, or 0."""
    for line in httpx.get(f"{service.url}/metrics").text.splitlines():
        if line.startswith(line_prefix):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
