"""The DA bench's load and what it observes (used by `da_webhook` and
`da_sign_in_hammer`): police contacts with a DA incident (probes, one child
at one of the bench schools, a unique police reference each) and non-DA
demo contacts, both on frontdoor.contacts.v1 at fixed rates, each producer
with acks=all; the demo school system's deliveries, the schools' inboxes
(police reference -> notification id, the webhook-id) and the DA events'
record times on contacts.da-incident-reported.v1; nearest-rank percentiles."""

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
from frontdoor_contracts.contacts import ContactSubmitted, DAChild, DAIncident, contact_id_for
from frontdoor_contracts.envelope import new_event
from frontdoor_contracts.topics import CONTACTS_DA_INCIDENT_REPORTED, FRONTDOOR_CONTACTS, all_topics
from frontdoor_contracts.vocabulary import Concern, ReferrerSource

from ..demo import SCHOOL_URNS, DemoStream
from .kafka_io import CLOUDEVENTS_HEADER

BENCH_SCHOOLS = SCHOOL_URNS[:3]
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
    contacts_p99_ms: float | None = None  # the halves' tails: which side a slow delivery lost its time on
    notifications_p99_ms: float | None = None

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
    """DA contacts and when each was sent, by police reference; and each one's contact id (the DA event on Kafka
    carries the reference sealed, the contact id in clear)."""

    def __init__(self, first: int = 0) -> None:
        self.sent: dict[str, float] = {}
        self.contact_ids: dict[str, str] = {}  # contact id -> police reference
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
        self.contact_ids[str(contact_id_for(POLICE_SOURCE, key.decode()))] = reference


async def paced(rate: float, duration: float, send: Any) -> tuple[int, float]:
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


async def load(bootstrap: str, background: list[tuple[bytes, bytes]], rate: float, probe_rate: float,
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

        (sent, seconds), _ = await asyncio.gather(paced(rate, duration, one), paced(probe_rate, duration, probe))
        await asyncio.gather(*pending)
    finally:
        await loader.stop()
        await prober.stop()
    return sent, seconds


async def incident_times(bootstrap: str, references: dict[str, str], timeout: float = 30.0) -> dict[str, float]:
    """police reference -> the record timestamp (s) of its contacts.da-incident-reported.v1 event, found by its
    contact id (`references`: contact id -> police reference, `Probes.contact_ids`)."""
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
                    contact_id = json.loads(record.value or b"{}").get("data", {}).get("contact_id")
                    if contact_id in references:
                        found.setdefault(references[contact_id], record.timestamp / 1000.0)
    finally:
        await consumer.stop()
    return found


def received(receiver_url: str) -> dict[str, int]:
    counts: dict[str, int] = httpx.get(f"{receiver_url}/received", timeout=10).json()
    return counts


def arrivals(receiver_url: str) -> dict[str, float]:
    return {d["webhook_id"]: float(d["received_at"])
            for d in httpx.get(f"{receiver_url}/deliveries", timeout=30).json()}


def references(notifications_url: str, keys: dict[str, str]) -> dict[str, str]:
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


async def wait_delivered(receiver_url: str, verified: int, cap: float) -> bool:
    deadline = time.monotonic() + cap
    while time.monotonic() < deadline:
        if (await asyncio.to_thread(received, receiver_url))["verified"] >= verified:
            return True
        await asyncio.sleep(0.2)
    return False


async def wait_ready(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (await asyncio.to_thread(httpx.get, f"{url}/readyz", timeout=2.0)).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"{url}/readyz was not 200 within {timeout:.0f}s")
