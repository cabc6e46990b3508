"""The contacts service with its real broker stopped under load: every
POST /v1/contacts is answered (202, or 503 with Retry-After) instead of
being held until the broker returns; a 503 given after the bound
(CONTACTS_BROKER_ANSWER_SECONDS) says the contact may have been recorded.
Once the broker is back, a retry of every 503 with the same
Idempotency-Key is accepted, and every contact, answered 202 at once or
after its retry, is recorded exactly once (contacts.recorded.v1 counted by
contact id)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from contacts_e2e_kit import ContactsService, Kafka, data_of, start_contacts, stop
from contacts_testkit import contact_data

from frontdoor_stack.kafka_broker import KafkaBroker, free_port, run_coroutine_in_thread
from frontdoor_stack.topics import ensure_topics

pytestmark = pytest.mark.e2e
BOUND = 2  # seconds: CONTACTS_BROKER_ANSWER_SECONDS for this service
# The producer's own timeout, longer than the service's default (10 s; the e2e kit shortens it to
# 3 s): a record buffered when the broker stopped waits that long or more for its verdict (15 s with
# the default in issue 14), and without the bound so would its request.
PUBLISH_TIMEOUT = 30
# The client's own timeout only catches a request held far past the bound (until the producer's
# verdict): not a speed check (that is `make bench`'s; database waits come on top of the bound under
# this load); the waits measured are printed.
HANG = BOUND + 10
BASE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
BODIES: dict[int, dict[str, object]] = {}


def body(i: int) -> dict[str, object]:
    """Request i's contact, the same each time it is asked for (a retry must send the same body)."""
    if i not in BODIES:
        BODIES[i] = contact_data(received_at=(BASE + timedelta(milliseconds=i)).isoformat())
    return BODIES[i]


def key(service: ContactsService, i: int) -> dict[str, str]:
    return service.headers(**{"Idempotency-Key": f"outage-{i}"})


def check_answer(response: httpx.Response) -> None:
    assert response.status_code in (202, 503), response.text
    if response.status_code == 503:
        assert response.headers["retry-after"].isdigit()
        assert "Idempotency-Key" in response.json()["detail"]


async def retried_until_accepted(client: httpx.AsyncClient, service: ContactsService, i: int) -> str:
    """The same contact with the same key, after Retry-After, until the broker takes it."""
    for _ in range(60):
        again = await client.post("/v1/contacts", json=body(i), headers=key(service, i))
        check_answer(again)
        if again.status_code == 202:
            return str(again.json()["contact_id"])
        await asyncio.sleep(int(again.headers["retry-after"]))
    raise AssertionError(f"request {i} was never accepted on retry")


async def test_a_broker_outage_under_load_is_answered_and_every_retry_is_recorded_once(tmp_path: Path) -> None:
    broker = KafkaBroker(tmp_path / "kafka", port=free_port(), controller_port=free_port())
    broker.start()
    run_coroutine_in_thread(ensure_topics(broker.bootstrap))
    process, service = start_contacts(tmp_path, broker.bootstrap, env_overrides={
        "CONTACTS_LOG_LEVEL": "WARNING", "CONTACTS_BROKER_ANSWER_SECONDS": str(BOUND),
        "CONTACTS_PUBLISH_TIMEOUT_SECONDS": str(PUBLISH_TIMEOUT)})
    answers: dict[int, httpx.Response] = {}
    waited: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=service.url, timeout=HANG,
                                     limits=httpx.Limits(max_connections=200)) as client:
            loop = asyncio.get_running_loop()

            async def post(i: int) -> None:
                started = loop.time()
                answers[i] = await client.post("/v1/contacts", json=body(i), headers=key(service, i))
                waited.append(loop.time() - started)

            async def load(until: float) -> None:
                """Clients that do not wait for one another: four requests every 50 ms."""
                pending, i = [], 0
                while loop.time() < until:
                    pending += [asyncio.create_task(post(i + k)) for k in range(4)]
                    i += 4
                    await asyncio.sleep(0.05)
                await asyncio.gather(*pending)

            loader = asyncio.create_task(load(loop.time() + 16))
            await asyncio.sleep(4)
            await asyncio.to_thread(broker.stop)  # SIGTERM, under load
            await asyncio.sleep(8)
            await asyncio.to_thread(broker.start)
            await loader
            for _ in range(30):  # ready again by itself
                if (await client.get("/readyz")).status_code == 200:
                    break
                await asyncio.sleep(1)
            for response in answers.values():
                check_answer(response)
            refused = sorted(i for i, r in answers.items() if r.status_code == 503)
            assert refused, "the outage must have refused some requests"
            contact_ids = {i: str(r.json()["contact_id"]) for i, r in answers.items() if r.status_code == 202}
            for i in refused:
                contact_ids[i] = await retried_until_accepted(client, service, i)
        maybe = sum("may have been recorded" in answers[i].json()["detail"] for i in refused)
        print(f"{len(answers)} requests: {len(answers) - len(refused)} accepted, {len(refused)} refused "
              f"({maybe} after the {BOUND} s bound); longest wait {max(waited):.2f} s")
        expected = set(contact_ids.values())
        found = await Kafka(broker.bootstrap).collect(
            "contacts.recorded.v1", lambda r: True, timeout=120, settle=3,
            until=lambda rs: expected <= {data_of(r).get("contact_id") for r in rs})
        counts = Counter(data_of(r).get("contact_id") for r in found)
        assert all(counts[c] == 1 for c in expected), "every contact, accepted or retried, recorded exactly once"
    finally:
        stop(process)
        broker.stop()
