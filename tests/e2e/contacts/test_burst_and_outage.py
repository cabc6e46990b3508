"""The contacts service under pressure, against real brokers: a burst of
concurrent requests while its consumer is busy, and a broker that stops
and comes back under load. Every answer is 202 (then recorded exactly
once) or 503 with Retry-After: "nothing was recorded" (then never recorded)
or, past the answer's bound, "may have been recorded" (then at most once)."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from contacts_e2e_kit import ContactsService, Kafka, start_contacts, stop
from contacts_testkit import contact_data, make_contact

from frontdoor_stack.kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from frontdoor_stack.topics import ensure_topics

pytestmark = pytest.mark.e2e
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BURST = range(1_000_000, 1_000_064)  # the burst's markers, apart from the outage test's (which count from 0)


def marked(i: int) -> dict[str, object]:
    """A contact whose received_at (which contacts.recorded.v1 carries) names request i."""
    return contact_data(received_at=(BASE + timedelta(milliseconds=i)).isoformat())


def marker_of(record_value: bytes) -> int:
    received = datetime.fromisoformat(json.loads(record_value)["data"]["received_at"])
    return round((received - BASE) / timedelta(milliseconds=1))


async def post(client: httpx.AsyncClient, service: ContactsService, i: int) -> tuple[int, httpx.Response]:
    response = await client.post("/v1/contacts", json=marked(i), headers=service.headers())
    return i, response


def check_answer(response: httpx.Response) -> None:
    assert response.status_code in (202, 503), response.text
    if response.status_code == 503:
        assert response.headers["retry-after"].isdigit()


async def recorded_markers(kafka: Kafka, expected: set[int], window: range, timeout: float = 180) -> Counter[int]:
    """How often each marker in `window` was recorded. Only this test's records are kept (the shared broker's
    topic holds every earlier test's contacts too, however many ran before this one)."""
    found = await kafka.collect("contacts.recorded.v1", lambda r: marker_of(r.value or b"{}") in window,
                                until=lambda rs: expected <= {marker_of(r.value or b"{}") for r in rs},
                                timeout=timeout, settle=3)
    return Counter(marker_of(r.value or b"{}") for r in found)


async def test_64_concurrent_requests_all_get_answers_while_the_consumer_is_busy(tmp_path: Path) -> None:
    # A broker of its own: any other contacts service on the session's broker (the session's, once a test
    # has asked for it) would record the burst's contacts too.
    broker = KafkaBroker(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start()
    run_coroutine_in_thread(ensure_topics(broker.bootstrap))
    process, service = start_contacts(tmp_path, broker.bootstrap, env_overrides={"CONTACTS_LOG_LEVEL": "WARNING"})
    kafka = Kafka(broker.bootstrap)
    try:
        # The consumer has this to chew on while the burst arrives.
        await kafka.publish_events("frontdoor.contacts.v1", [make_contact() for _ in range(3000)])
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=30) as client:
            answers = await asyncio.gather(*(post(client, service, i) for i in BURST))
        for _, response in answers:
            check_answer(response)
        accepted = {i for i, r in answers if r.status_code == 202}
        assert accepted, "a burst of 64 must not be refused whole"
        counts = await recorded_markers(kafka, accepted, BURST)
        assert all(counts[i] == 1 for i in accepted)  # every 202 recorded exactly once
        assert not {i for i, r in answers if r.status_code == 503} & set(counts)
    finally:
        stop(process)
        broker.stop()


async def test_a_broker_outage_under_load_loses_nothing_and_503_means_not_taken(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start()
    run_coroutine_in_thread(ensure_topics(broker.bootstrap))
    process, service = start_contacts(tmp_path, broker.bootstrap, env_overrides={"CONTACTS_LOG_LEVEL": "WARNING"})
    answers: list[tuple[int, httpx.Response]] = []
    readiness: list[int] = []
    try:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(base_url=service.url, timeout=60, limits=limits) as client:
            async def load(stop_at: float) -> None:
                """Clients that do not wait for one another: a few requests every
                50 ms. The few taken in the instant before the outage is noticed
                wait for the broker's return (their answer waits for the outcome);
                every later one is answered 503 at once."""
                i = 0
                loop = asyncio.get_running_loop()
                pending = []
                while loop.time() < stop_at:
                    pending += [asyncio.create_task(post(client, service, i + k)) for k in range(4)]
                    i += 4
                    await asyncio.sleep(0.05)
                answers.extend(await asyncio.gather(*pending))

            loop = asyncio.get_running_loop()
            loader = asyncio.create_task(load(loop.time() + 30))
            await asyncio.sleep(5)
            await asyncio.to_thread(broker.stop)  # SIGTERM, under load
            for _ in range(10):
                readiness.append((await client.get("/readyz")).status_code)
                await asyncio.sleep(1)
            await asyncio.to_thread(broker.start)
            await loader
            for _ in range(30):  # ready again by itself
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(1)
            ready = await client.get("/readyz")
            assert ready.status_code == 200, ready.text
        assert 503 in readiness, "readiness must say so while the broker is down"
        for _, response in answers:
            check_answer(response)
        accepted = {i for i, r in answers if r.status_code == 202}
        refused = {i for i, r in answers if r.status_code == 503 and "nothing was recorded" in r.text}
        maybe = {i for i, r in answers if r.status_code == 503} - refused
        assert accepted and refused, (len(accepted), len(refused))
        counts = await recorded_markers(Kafka(broker.bootstrap), accepted, range(BURST.start))
        assert all(counts[i] == 1 for i in accepted), "every accepted contact recorded exactly once"
        assert not refused & set(counts), "a contact answered 503 'nothing was recorded' was recorded"
        assert all(counts[i] <= 1 for i in maybe), "a contact answered 503 'may have been recorded' recorded twice"
    finally:
        stop(process)
        broker.stop()
