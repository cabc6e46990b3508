"""Done means: on the replicated cluster (`frontdoor-stack up --brokers 3`,
secured), the demo stream at load (contacts, decisions, partner data, as
`frontdoor-stack demo` publishes it, in runs of CHUNK contacts until the
crashes are over) goes on while one broker is killed with SIGKILL and
restarted, and then another: nothing is lost and nothing happens twice, and
the services answer HTTP throughout.

Hop by hop, each against what the hop before it holds:
- every contact and every decision published (acks=all) is recorded once by
  contacts, and announced once on contacts.recorded.v1 / contacts.decided.v1;
- every DA incident is announced once, and every child in it reached
  notifications (a notification, the worklist, or not of school age), the
  webhook notifications each delivered to the demo school system and verified,
  exactly once (the receiver counts deliveries by `webhook-id`);
- every decision that opens a case has its family's case in allocation, and
  each case was opened once (one allocation.case-opened.v1 each, as many as
  allocation holds);
- every /healthz of the four services, asked every quarter second meanwhile,
  answered 200."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from allocation.domain.triggers import NfaReviewPolicy, case_source_for_decision
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_OPENED,
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_DECIDED,
    CONTACTS_RECORDED,
)
from frontdoor_contracts.vocabulary import Decision, LevelOfNeed
from frontdoor_stack.demo_feed import DemoResult, publish
from frontdoor_stack.kafka_cluster import KafkaCluster
from frontdoor_stack.stack import LocalStack

pytestmark = pytest.mark.e2e
CHUNK, RATE, SEED = 100, 20.0, 2718  # 5 s of the demo stream a run, each run its own seed
SETTLE_SECONDS = 180.0  # the longest wait for the services to work through what was published


class Prober(threading.Thread):
    """Asks every service's /healthz every quarter second until stopped; keeps every answer that was not a 200."""

    def __init__(self, urls: list[str]) -> None:
        super().__init__(daemon=True)
        self.urls, self.asked, self.failures = urls, 0, list[str]()
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=5.0) as client:
            while not self.stopping.wait(0.25):
                for url in self.urls:
                    self.asked += 1
                    try:
                        status = client.get(f"{url}/healthz").status_code
                    except httpx.HTTPError as error:
                        self.failures.append(f"{url}: {type(error).__name__}")
                        continue
                    if status != 200:
                        self.failures.append(f"{url}: {status}")


def crash_two_brokers(cluster: KafkaCluster, log: list[str]) -> None:
    """Node 1 killed, restarted, caught up; then node 2 the same."""
    time.sleep(3.0)
    for node_id in (1, 2):
        cluster.kill(node_id)
        log.append(f"killed {node_id}")
        time.sleep(6.0)  # longer than a leader's move: the remaining two carry the load
        cluster.restart(node_id)
        cluster.wait_in_sync()
        log.append(f"node {node_id} back in sync")
        time.sleep(3.0)


async def every_record(stack: LocalStack, topic: str) -> list[dict[str, Any]]:
    """Every record's CloudEvent on `topic` now, read as the stack's admin."""
    assert stack.broker is not None
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=stack.bootstrap, group_id=None, enable_auto_commit=False,
                                auto_offset_reset="earliest", **stack.broker.security.client_kwargs())
    await consumer.start()
    found: list[dict[str, Any]] = []
    try:
        while batch := await consumer.getmany(timeout_ms=2000):
            found += [json.loads(r.value) for records in batch.values() for r in records if r.value]
    finally:
        await consumer.stop()
    return found


async def feed_until(stack: LocalStack, over: asyncio.Task[None]) -> DemoResult:
    """The demo stream, a run of CHUNK contacts after another, until `over` is done (at least two runs)."""
    total, runs = DemoResult(), 0
    while runs < 2 or not over.done():
        part = await publish(stack.bootstrap, count=CHUNK, rate=RATE, seed=SEED + runs, access=stack.access)
        total.contacts += part.contacts
        total.decisions += part.decisions
        total.partner_records += part.partner_records
        runs += 1
    return total


def rows(database: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return list(db.execute(query).fetchall())


def uid(value: Any) -> str:
    """A UUID as one text, however stored (SQLite holds them as 32 hex digits) or sent."""
    return str(uuid.UUID(str(value)))


def settle(done: Callable[[], bool]) -> None:
    deadline = time.monotonic() + SETTLE_SECONDS
    while not done() and time.monotonic() < deadline:
        time.sleep(1.0)


def once_each(events: list[dict[str, Any]], key: str) -> Counter[str]:
    return Counter(uid(event["data"][key]) for event in events)


async def test_two_brokers_killed_in_turn_lose_nothing_and_do_nothing_twice(cluster_stack: LocalStack,
                                                                           cluster: KafkaCluster) -> None:
    stack, data = cluster_stack, cluster_stack.root / "data"
    prober = Prober([f"http://127.0.0.1:{spec.port}" for spec in stack.services])
    prober.start()
    crashes: list[str] = []
    crashing = asyncio.create_task(asyncio.to_thread(crash_two_brokers, cluster, crashes))
    started = time.monotonic()
    fed = await feed_until(stack, crashing)
    await crashing
    print(f"\n{fed.contacts} contacts, {fed.decisions} decisions, {fed.partner_records} partner records in "
          f"{time.monotonic() - started:.0f} s while two brokers were killed and restarted in turn")
    assert crashes == ["killed 1", "node 1 back in sync", "killed 2", "node 2 back in sync"]
    assert fed.contacts % CHUNK == 0 and fed.decisions > fed.contacts / 2 and fed.partner_records > fed.contacts / 2

    # contacts: every contact and decision recorded, and announced, once
    contacts_db = data / "contacts.db"
    settle(lambda: rows(contacts_db, "SELECT count(*) FROM contacts")[0][0] >= fed.contacts
           and rows(contacts_db, "SELECT count(*) FROM decisions")[0][0] >= fed.decisions)
    assert rows(contacts_db, "SELECT count(*) FROM contacts")[0][0] == fed.contacts
    assert rows(contacts_db, "SELECT count(*) FROM decisions")[0][0] == fed.decisions
    recorded = once_each(await every_record(stack, CONTACTS_RECORDED.name), "contact_id")
    decided_events = await every_record(stack, CONTACTS_DECIDED.name)
    decided = once_each(decided_events, "contact_id")
    assert len(recorded) == fed.contacts and set(recorded.values()) == {1}
    assert len(decided) == fed.decisions and set(decided.values()) == {1}

    # DA incidents: announced once each; every child reached notifications; every webhook verified once
    incidents = await every_record(stack, CONTACTS_DA_INCIDENT_REPORTED.name)
    assert incidents and set(once_each(incidents, "contact_id").values()) == {1}
    children = {(uid(event["data"]["contact_id"]), uid(child["child_id"])) for event in incidents
                for child in event["data"]["children"]}
    notifications_db = data / "notifications.db"

    def webhooks() -> set[str]:
        return {uid(row[0]) for row in rows(notifications_db, "SELECT notification_id FROM deliveries "
                                            "WHERE channel = 'webhook'")}

    def verified() -> dict[str, int]:
        answer = httpx.get(f"http://127.0.0.1:{stack.receiver_port}/deliveries", timeout=10).json()
        return {uid(arrival["webhook_id"]): arrival["deliveries"] for arrival in answer}

    def reached() -> set[tuple[str, str]]:
        return {(uid(a), uid(b)) for a, b in rows(notifications_db, "SELECT contact_id, child_id FROM da_children")}

    settle(lambda: reached() >= children and set(verified()) >= webhooks())
    assert reached() == children
    assert webhooks() and set(verified()) == webhooks()
    assert set(verified().values()) == {1}
    counts = httpx.get(f"http://127.0.0.1:{stack.receiver_port}/received", timeout=10).json()
    assert counts["duplicates"] == 0 and counts["rejected"] == 0

    # cases: every decision that opens one has its family's case; each case opened once
    policy = NfaReviewPolicy()
    triggering = {uid(event["data"]["family_id"]) for event in decided_events
                  if case_source_for_decision(Decision(event["data"]["decision"]),
                                              LevelOfNeed(event["data"]["level_of_need"]), policy)}
    allocation_db = data / "allocation.db"

    def families_with_cases() -> set[str]:
        cases = {uid(row[0]) for row in rows(allocation_db, "SELECT family_id FROM cases")}
        return cases | {uid(row[0]) for row in rows(allocation_db, "SELECT merged_family_id FROM family_aliases")}

    settle(lambda: families_with_cases() >= triggering)
    assert triggering and families_with_cases() >= triggering
    opened = once_each(await every_record(stack, ALLOCATION_CASE_OPENED.name), "case_id")
    assert set(opened.values()) == {1}
    assert len(opened) == rows(allocation_db, "SELECT count(*) FROM cases")[0][0]

    prober.stopping.set()
    prober.join()
    assert prober.asked > 4 * 100 and prober.failures == []
