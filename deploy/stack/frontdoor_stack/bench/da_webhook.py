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
reference): the receiver logs and keeps ids only."""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from frontdoor_contracts.contacts import Child as ChildData
from frontdoor_contracts.contacts import ContactSubmitted, DAChild, DAIncident
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED, FRONTDOOR_CONTACTS, all_topics
from frontdoor_contracts.vocabulary import Concern, ReferrerSource

from ..demo import SCHOOL_URNS, DemoStream
from ..kafka_broker import free_port
from ..school_receiver import MODULE as RECEIVER_MODULE
from ..seed import WEBHOOK, SchoolEntry, seed_directory
from ..services import ServiceProcess
from .context import BenchContext
from .kafka_io import CLOUDEVENTS_HEADER, move_group_to_end
from .processes import BenchService, PythonProcess

GROUPS = {"contacts": "bench-da-contacts", "notifications": "bench-da-notifications"}
BENCH_SCHOOLS = SCHOOL_URNS[:3]
WARM_UP_PROBES = 3  # delivered before the measurement: the first connections, caches and batches
POLICE_SOURCE = "urn:frontdoor:bench:police"


@dataclass(frozen=True)
class DaWebhookResult:
    probes: int  # DA contacts published in the measured window
    delivered: int  # of them, verified webhooks received (each once counted)
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    background: int  # non-DA contacts published beside them
    background_rate: float  # achieved, per second
    target_rate: float
    probe_rate: float
    duration: float
    rejected: int  # deliveries the receiver could not verify
    duplicates: int  # deliveries of a webhook-id already received
    time_cap: float
    # The two halves, split at the DA event's record timestamp on contacts.da-incident-reported.v1:
    contacts_p50_ms: float | None = None  # published -> the contacts service's DA event on Kafka
    notifications_p50_ms: float | None = None  # that event -> the verified webhook

    @property
    def complete(self) -> bool:
        return self.delivered == self.probes


def percentile(values: Sequence[float], q: float) -> float | None:
    """Nearest rank: the smallest value with at least q of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def da_contact(urn: str, police_reference: str, rng_day: int) -> tuple[bytes, bytes]:
    """A police contact with a DA incident: one child, at school `urn` (synthetic)."""
    now = datetime.now(UTC)
    child = ChildData(ref="child-1", given_name="Benchy", family_name="Loadtester",
                      date_of_birth=date.today() - timedelta(days=6 * 365 + rng_day), postcode="ZZ99 1AB",
                      school_urn=urn)
    data = ContactSubmitted(referrer_source=ReferrerSource.POLICE, received_at=now, children=[child],
                            concerns=[Concern.DOMESTIC_ABUSE],
                            da_incident=DAIncident(occurred_at=now - timedelta(hours=2),
                                                   police_reference=police_reference,
                                                   children=[DAChild(child_ref="child-1", present=True)]))
    event = new_event(data, source=POLICE_SOURCE, subject="contact", time=now)
    return event.id.encode(), event.model_dump_json().encode()


def background_contacts(count: int, seed: int) -> list[tuple[bytes, bytes]]:
    """`count` demo contacts without a DA incident (the stream's others: every source, repeat families)."""
    stream, made = DemoStream(seed), list[tuple[bytes, bytes]]()
    while len(made) < count:
        key, value, _ = stream.contact()
        if json.loads(value)["data"].get("da_incident") is None:
            made.append((key.encode(), value.encode()))
    return made


def consumed_by(service: str) -> list[str]:
    return [spec.name for spec in all_topics() if service in spec.consumers]


class Probes:
    """DA contacts and when each was sent, by police reference."""

    def __init__(self, first: int = 0) -> None:
        self.sent: dict[str, float] = {}
        self._n = first

    def next(self) -> tuple[str, str]:
        self._n += 1
        return BENCH_SCHOOLS[self._n % len(BENCH_SCHOOLS)], f"BENCH/{self._n:06d}/{uuid.uuid4().hex[:6]}"

    async def send(self, producer: AIOKafkaProducer) -> None:
        urn, reference = self.next()
        key, value = da_contact(urn, reference, self._n % 300)
        started = time.time()
        await producer.send_and_wait(FRONTDOOR_CONTACTS.name, value, key=key, headers=[CLOUDEVENTS_HEADER])
        self.sent[reference] = started


async def _paced(rate: float, duration: float, send: Any) -> tuple[int, float]:
    """Call `send(i)` `rate` times a second for `duration` seconds, on schedule; (sent, seconds taken)."""
    began = time.monotonic()
    sent = 0
    while sent < round(rate * duration):
        delay = began + sent / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await send(sent)
        sent += 1
    return sent, time.monotonic() - began


async def _load(bootstrap: str, background: list[tuple[bytes, bytes]], rate: float, probe_rate: float,
                duration: float, probes: Probes) -> tuple[int, float]:
    """The background and the probes side by side; (background sent, its seconds)."""
    loader = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                              client_id="bench-da-background")
    prober = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=0,
                              client_id="bench-da-probes")
    await loader.start()
    await prober.start()
    pending: list[asyncio.Future[Any]] = []
    try:
        async def one(i: int) -> None:
            key, value = background[i % len(background)]
            pending.append(await loader.send(FRONTDOOR_CONTACTS.name, value, key=key, headers=[CLOUDEVENTS_HEADER]))

        async def probe(_: int) -> None:
            await probes.send(prober)

        (sent, seconds), _ = await asyncio.gather(_paced(rate, duration, one), _paced(probe_rate, duration, probe))
        await asyncio.gather(*pending)
    finally:
        await loader.stop()
        await prober.stop()
    return sent, seconds


async def _incident_times(bootstrap: str, references: set[str], timeout: float = 30.0) -> dict[str, float]:
    """police reference -> the record timestamp (s) of its contacts.da-incident-reported.v1 event."""
    found: dict[str, float] = {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest", client_id="bench-da-incidents")
    await consumer.start()
    try:
        topic = CONTACTS_DA_INCIDENT_REPORTED
        consumer.assign([TopicPartition(topic.name, p) for p in range(topic.partitions)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(found) < len(references):
            for records in (await consumer.getmany(timeout_ms=250, max_records=5000)).values():
                for record in records:
                    reference = json.loads(record.value or b"{}").get("data", {}).get("police_reference")
                    if reference in references:
                        found.setdefault(reference, record.timestamp / 1000.0)
    finally:
        await consumer.stop()
    return found


def _received(receiver_url: str) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{receiver_url}/received", timeout=10).json()
    return counts


def _arrivals(receiver_url: str) -> dict[str, float]:
    return {d["webhook_id"]: float(d["received_at"])
            for d in httpx.get(f"{receiver_url}/deliveries", timeout=30).json()}


def _references(notifications_url: str, keys: dict[str, str]) -> dict[str, str]:
    """police reference -> notification id (the webhook-id), from each school's inbox."""
    found: dict[str, str] = {}
    for key in keys.values():
        items = httpx.get(f"{notifications_url}/v1/inbox", params={"limit": 1000},
                          headers={"Authorization": f"Bearer {key}"}, timeout=30).json()
        for item in items:
            reference = item["notice"]["police_reference"]
            if reference:
                found[reference] = item["notification_id"]
    return found


def _key(service: ServiceProcess, name: str, roles: str, scope: str | None = None) -> str:
    return service.create_client(name, roles, scope)


async def _wait_delivered(receiver_url: str, verified: int, cap: float) -> bool:
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        if (await asyncio.to_thread(_received, receiver_url))["verified"] >= verified:
            return True
        await asyncio.sleep(0.2)
    return False


async def _wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await asyncio.to_thread(httpx.get, f"{url}/readyz", timeout=2.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url}/readyz was not 200 within {timeout:.0f}s")


async def measure(ctx: BenchContext, seed: int) -> DaWebhookResult:
    sizes = ctx.sizes
    rate, probe_rate, duration, cap = sizes.da_rate, sizes.da_probe_rate, sizes.da_duration, sizes.time_cap
    step = ctx.progress.step("DA → webhook: starting", 4)
    scratch = ctx.workdir / "da-webhook"
    port = free_port()
    receiver = PythonProcess(RECEIVER_MODULE, ["--port", str(port), "--secrets", str(scratch / "secrets.json")],
                             ctx.logs / "school-receiver.log")
    receiver_url = f"http://127.0.0.1:{port}"
    services = {name: BenchService(name, ctx.bootstrap, scratch, {f"{name.upper()}_CONSUMER_GROUP": group})
                for name, group in GROUPS.items()}
    for name, group in GROUPS.items():
        await move_group_to_end(ctx.bootstrap, group, consumed_by(name))
    background = await asyncio.to_thread(background_contacts, max(1, round(rate * (duration + 5))), seed)
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
            await _wait_ready(service.url)
        step.update(2, "warming up")
        warm_up = Probes()
        prober = AIOKafkaProducer(bootstrap_servers=ctx.bootstrap, acks="all", enable_idempotence=True)
        await prober.start()
        try:
            for _ in range(WARM_UP_PROBES):
                await warm_up.send(prober)
        finally:
            await prober.stop()
        if not await _wait_delivered(receiver_url, WARM_UP_PROBES, cap):
            raise RuntimeError("the warm-up DA contacts never reached the receiver: see the logs in "
                               f"{ctx.logs} and {scratch / 'logs'}")
        step.update(3, f"{rate:g} contacts/s + {probe_rate:g} DA/s for {duration:g} s")
        probes = Probes(first=10_000)  # references apart from the warm-up's
        sent, seconds = await _load(ctx.bootstrap, background, rate, probe_rate, duration, probes)
        step.update(4, f"waiting for the webhooks (cap {cap:.0f}s)")
        await _wait_delivered(receiver_url, WARM_UP_PROBES + len(probes.sent), cap)
        arrivals = await asyncio.to_thread(_arrivals, receiver_url)
        references = await asyncio.to_thread(_references, notifications.url, keys)
        counts = await asyncio.to_thread(_received, receiver_url)
        emitted = await _incident_times(ctx.bootstrap, set(probes.sent))
    finally:
        for service in services.values():
            await asyncio.to_thread(service.stop)
        await asyncio.to_thread(receiver.stop)
    delivered = {ref: arrivals[references[ref]] for ref in probes.sent
                 if ref in references and references[ref] in arrivals}
    latencies = [(arrived - probes.sent[ref]) * 1000 for ref, arrived in delivered.items()]
    halves = [ref for ref in delivered if ref in emitted]
    result = DaWebhookResult(
        probes=len(probes.sent), delivered=len(latencies), p50_ms=percentile(latencies, 0.50),
        p99_ms=percentile(latencies, 0.99), max_ms=max(latencies) if latencies else None, background=sent,
        background_rate=sent / seconds if seconds else 0.0, target_rate=rate, probe_rate=probe_rate,
        duration=duration, rejected=counts["rejected"], duplicates=counts["duplicates"], time_cap=cap,
        contacts_p50_ms=percentile([(emitted[r] - probes.sent[r]) * 1000 for r in halves], 0.5),
        notifications_p50_ms=percentile([(delivered[r] - emitted[r]) * 1000 for r in halves], 0.5))
    ctx.progress.done(f"DA contact → verified webhook p50 {result.p50_ms or 0:,.1f} ms, "
                      f"p99 {result.p99_ms or 0:,.1f} ms ({result.delivered} of {result.probes}, "
                      f"background {result.background_rate:,.1f} contacts/s)")
    return result
