"""Done means: nobody can stop the platform through the schools' sign-in
page. On the stack as `frontdoor-stack up` runs it, 32 clients (each from
its own loopback address, 127.0.0.2 to 127.0.0.33) post bogus sign-ins as
fast as they are answered: half at an inbox-only school's key adult, half
at guessable staff ids (`dsl-<URN>`). Meanwhile a police contact with a
domestic abuse incident goes to frontdoor.contacts.v1 for a school told by
webhook: its verified webhook still arrives (the latency is printed, not
asserted: that is `make bench`'s), and the inbox-only school's key adult,
at the address they signed in from before (127.0.0.1), mistypes their
password three times, is told to wait, and signs in once the delay their
own mistakes earned has passed, while the attack goes on. No service logs
`database is locked`; the attackers get 401 or 503, never a 5xx."""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid
from collections import Counter
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from frontdoor_contracts.topics import FRONTDOOR_CONTACTS
from frontdoor_stack.bench.da_load import da_contact
from frontdoor_stack.bench.kafka_io import CLOUDEVENTS_HEADER
from frontdoor_stack.seed import INBOX
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e
ATTACKERS = 32
ARRIVED_WITHIN = 120.0  # seconds: "it arrived", not a latency goal
SIGNED_IN_WITHIN = 60.0
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def error_of(response: httpx.Response) -> str:
    found = re.search(r'<p id="sign-in-error">(.*?)</p>', response.text, re.S)
    assert found, f"no sign-in error shown ({response.status_code})"
    return found.group(1)


async def form_token(browser: httpx.AsyncClient) -> str:
    found = FORM_TOKEN.search((await browser.get("/page/sign-in")).text)
    assert found, "no CSRF token on the sign-in form"
    return found.group(1)


async def post_sign_in(browser: httpx.AsyncClient, token: str, staff_id: str, password: str) -> httpx.Response:
    return await browser.post("/page/sign-in", data={"staff_id": staff_id, "password": password,
                                                     "csrf_token": token})


async def attack(url: str, n: int, target: str, stop: asyncio.Event, answers: Counter[int]) -> None:
    """One attacker, at 127.0.0.<n + 2>, until `stop` (or 10,000 attempts)."""
    transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{n + 2}")
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=30) as browser:
        token = await form_token(browser)
        for _ in range(10_000):
            if stop.is_set():
                return
            staff_id = target if n % 2 == 0 else f"dsl-{random.randrange(100000, 1000000)}"
            response = await post_sign_in(browser, token, staff_id, f"guess-{uuid.uuid4().hex[:12]}")
            answers[response.status_code] += 1


async def publish_da_contact(bootstrap: str, urn: str, reference: str) -> float:
    """A police contact with a DA incident for a child at school `urn`; when it was sent (wall clock)."""
    key, value = da_contact(urn, reference, random.randrange(300))
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        sent = time.time()
        await producer.send_and_wait(FRONTDOOR_CONTACTS.name, value, key=key, headers=[CLOUDEVENTS_HEADER])
    finally:
        await producer.stop()
    return sent


async def poll(fetch: Any, timeout: float, every: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await asyncio.to_thread(fetch)
        if found is not None:
            return found
        await asyncio.sleep(every)
    return None


async def test_32_bogus_sign_ins_at_once_stop_neither_a_da_webhook_nor_the_key_adult(
        stack: LocalStack, notifications_url: str, receiver_url: str) -> None:
    assert stack.seeded is not None and stack.school_key is not None
    webhook_school = stack.seeded.demo_school()
    owner = next(s for s in stack.seeded.schools if s.channel == INBOX)
    password, school_key = stack.seeded.passwords[owner.staff_id], stack.school_key.api_key
    async with httpx.AsyncClient(base_url=notifications_url, timeout=30) as browser:  # signed in here before
        assert (await post_sign_in(browser, await form_token(browser), owner.staff_id, password)).status_code == 303

    stop, answers = asyncio.Event(), Counter[int]()
    attackers = [asyncio.create_task(attack(notifications_url, n, owner.staff_id, stop, answers))
                 for n in range(ATTACKERS)]
    try:
        while sum(answers.values()) < 5 * ATTACKERS:  # the attack is under way
            assert not any(a.done() for a in attackers), [a.exception() for a in attackers if a.done()]
            await asyncio.sleep(0.1)
        reference = f"E2E/{random.randrange(10**7):07d}/26"
        sent = await publish_da_contact(stack.bootstrap, webhook_school.urn, reference)

        # The inbox-only school's key adult, from their usual address, while the attack goes on.
        async with httpx.AsyncClient(base_url=notifications_url, timeout=30) as browser:
            token = await form_token(browser)
            for _ in range(3):
                wrong = await post_sign_in(browser, token, owner.staff_id, "a mistyped passphrase")
                assert wrong.status_code == 401
            too_soon = await post_sign_in(browser, token, owner.staff_id, password)
            assert too_soon.status_code == 401 and error_of(too_soon) == error_of(wrong)
            assert "wait and try again" in error_of(too_soon)
            mistyped, tries = time.monotonic(), 1
            deadline = mistyped + SIGNED_IN_WITHIN
            signed = too_soon
            while signed.status_code != 303 and time.monotonic() < deadline:
                await asyncio.sleep(0.25)
                signed = await post_sign_in(browser, token, owner.staff_id, password)
                tries += 1
            waited = time.monotonic() - mistyped
            assert signed.status_code == 303 and signed.headers["location"] == "/page/", signed.status_code
            page = await browser.get("/page/")
            assert page.status_code == 200 and owner.name in page.text
        print(f"\nthe key adult signed in {waited:.1f} s after their third mistake ({tries} tries), "
              f"under attack")

        def in_inbox() -> str | None:
            items = httpx.get(f"{notifications_url}/v1/inbox", timeout=10,
                              headers={"Authorization": f"Bearer {school_key}"}).json()
            return next((i["notification_id"] for i in items if i["notice"]["police_reference"] == reference), None)

        def arrival_of(notification_id: str) -> dict[str, Any] | None:
            response = httpx.get(f"{receiver_url}/received/{notification_id}", timeout=10)
            return response.json() if response.status_code == 200 else None

        notification_id = await poll(in_inbox, ARRIVED_WITHIN)
        assert notification_id is not None, "the DA notification never reached the school's inbox"
        arrival = await poll(lambda: arrival_of(notification_id), ARRIVED_WITHIN - (time.time() - sent))
        assert arrival is not None and arrival["verified"] is True, "no verified webhook reached the school"
        print(f"DA contact published -> verified webhook under {ATTACKERS} attackers: "
              f"{(arrival['received_at'] - sent) * 1000:.0f} ms")
    finally:
        stop.set()
        await asyncio.gather(*attackers, return_exceptions=True)
    print(f"the attackers' answers: {dict(sorted(answers.items()))}")
    for task in attackers:
        assert task.exception() is None, task.exception()
    assert set(answers) <= {401, 503} and answers[401] > 0, answers

    for log in sorted((stack.root / "logs").glob("*.log")):
        assert "database is locked" not in log.read_text(errors="replace"), log.name
