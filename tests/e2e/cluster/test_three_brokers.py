"""Done means, on the replicated cluster as `frontdoor-stack up --brokers 3`
starts it, secured (the cluster started once for this module):

- every declared topic follows from its declaration on three brokers (its
  partitions, three replicas of each, each declared config with
  min.insync.replicas=2), the internal topics are replicated on all three and
  every node answers as a broker of the one cluster;
- every node has the single broker's security (tests/e2e/test_secured_kafka.py
  checks it there in full): its door refuses a client without credentials,
  with TLS alone or a wrong password, and the ACLs, applied once, hold;
- the demo stream at load (contacts, decisions, partner data, as `frontdoor-stack
  demo` publishes it, in runs of CHUNK contacts until the crashes are over)
  goes on while one broker is killed with SIGKILL and restarted, then another,
  and nothing is lost or happens twice, hop by hop, each against what the hop
  before it holds: every contact and decision published (acks=all) recorded
  once by contacts and announced once; every DA incident announced once, every
  child in it reached notifications, each webhook notification delivered to the
  demo school system and verified exactly once (the receiver counts deliveries
  by `webhook-id`); every decision that opens a case has its family's case, each
  case opened once (one allocation.case-opened.v1 each, as many as allocation
  holds); and the four services answered HTTP throughout, asked every quarter
  second: each /healthz 200, and a read of each one's database through its API
  with the stack's keys (allocation's board, outcomes' KPIs, the demo school's
  inbox: 200; a contact nobody sent: 404)."""


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
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.conn import create_conn
from aiokafka.errors import KafkaConnectionError, SaslAuthenticationFailed, TopicAuthorizationFailedError
from aiokafka.protocol.metadata import MetadataRequest

from allocation.domain.triggers import NfaReviewPolicy, case_source_for_decision
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_OPENED,
    CONTACTS_DA_INCIDENT_REPORTED,
    CONTACTS_DECIDED,
    CONTACTS_RECORDED,
    SCHOOLS_ENROLMENTS,
)
from frontdoor_contracts.vocabulary import Decision, LevelOfNeed
from frontdoor_stack.demo_feed import DemoResult, publish
from frontdoor_stack.kafka_cluster import KafkaCluster
from frontdoor_stack.stack import LocalStack
from frontdoor_stack.topics import differences

pytestmark = pytest.mark.e2e


CHUNK, RATE, SEED = 100, 20.0, 2718  # 5 s of the demo stream a run, each run its own seed
SETTLE_SECONDS = 180.0  # the longest wait for the services to work through what was published


Check = tuple[str, dict[str, str], int]  # a URL, the headers it is asked with, the status it must answer


class Prober(threading.Thread):
    """Asks every check every quarter second until stopped; keeps every answer that was not the one expected."""

    def __init__(self, checks: list[Check]) -> None:
        super().__init__(daemon=True)
        self.checks, self.asked, self.failures = checks, 0, list[str]()
        self.stopping = threading.Event()

    def run(self) -> None:
        # A slow answer on 2 cores shared with three JVMs is not a failure (speed is the bench's); a refused
        # connection, a 5xx or no answer in a minute (a hang) is.
        with httpx.Client(timeout=60.0) as client:
            while not self.stopping.wait(0.25):
                for url, headers, expected in self.checks:
                    self.asked += 1
                    try:
                        status: int | str = client.get(url, headers=headers).status_code
                    except httpx.HTTPError as error:
                        status = type(error).__name__
                    if status != expected:
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


async def test_two_brokers_killed_in_turn_lose_nothing_and_do_nothing_twice(
        cluster_stack: LocalStack, cluster: KafkaCluster, http_checks: list[Check]) -> None:
    stack, data = cluster_stack, cluster_stack.root / "data"
    prober = Prober(http_checks)
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

    # outcomes: its stream (faust, writing its tables' changelogs with acks=all) counted every contact and
    # decision once: it stops if its own topics have fewer replicas than the brokers' min.insync.replicas
    outcomes_db = data / "outcomes.db"
    settle(lambda: rows(outcomes_db, "SELECT count(*) FROM kpi_contacts")[0][0] >= fed.contacts
           and rows(outcomes_db, "SELECT count(*) FROM kpi_decisions")[0][0] >= fed.decisions)
    assert rows(outcomes_db, "SELECT count(*) FROM kpi_contacts")[0][0] == fed.contacts
    assert rows(outcomes_db, "SELECT count(*) FROM kpi_decisions")[0][0] == fed.decisions

    prober.stopping.set()
    prober.join()
    assert prober.asked > 8 * 100 and prober.failures == []


# -- the topics as declared ------------------------------------------------------------------------------------------

async def test_every_declared_topic_follows_from_its_declaration_on_three_brokers(cluster_stack: LocalStack,
                                                                                   cluster: KafkaCluster) -> None:
    assert await differences(cluster_stack.bootstrap, 3, security=cluster.security) == []


async def test_the_internal_topics_and_the_brokers_replicate_on_every_node(cluster: KafkaCluster) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap, **cluster.security.client_kwargs())
    await admin.start()
    try:
        described = await admin.describe_cluster()
        [offsets] = await admin.describe_topics(["__consumer_offsets"])  # made when the services' groups joined
        streams = [name for name in await admin.list_topics() if name.startswith("frontdoor-outcomes")]
        changelogs = await admin.describe_topics(streams)  # the topics outcomes' faust app made for itself
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node.node_id))
                                                  for node in cluster.nodes])
    finally:
        await admin.close()
    assert sorted(broker["node_id"] for broker in described["brokers"]) == [1, 2, 3]
    assert offsets["error_code"] == 0 and offsets["partitions"]
    assert {len(partition["replicas"]) for partition in offsets["partitions"]} == {3}
    assert streams and {len(p["replicas"]) for topic in changelogs for p in topic["partitions"]} == {3}
    settings: list[dict[str, Any]] = [{entry[0]: entry[1] for entry in resource[4]}
                                      for response in responses for resource in response.resources]
    assert len(settings) == 3
    for broker in settings:
        assert broker["min.insync.replicas"] == "2"
        assert broker["default.replication.factor"] == "3"
        assert broker["offsets.topic.replication.factor"] == "3"
        assert broker["transaction.state.log.replication.factor"] == "3"
        assert broker["transaction.state.log.min.isr"] == "2"
        assert broker["unclean.leader.election.enable"] == "false"  # an out-of-sync replica never leads


# -- every node secured ----------------------------------------------------------------------------------------------

async def attempt(port: int, **options: Any) -> None:
    conn = await create_conn("127.0.0.1", port, request_timeout_ms=5000, **options)
    try:
        await conn.send(MetadataRequest([]))
    finally:
        conn.close()


async def test_each_nodes_door_takes_only_a_known_principal_with_its_password(cluster_stack: LocalStack,
                                                                            cluster: KafkaCluster) -> None:
    access = cluster_stack.access
    assert access is not None
    context = access.admin.ssl_context()
    sasl = {"security_protocol": "SASL_SSL", "ssl_context": context, "sasl_mechanism": "SCRAM-SHA-512"}
    for node in cluster.nodes:
        with pytest.raises(KafkaConnectionError):
            await attempt(node.port)  # plaintext
        with pytest.raises(KafkaConnectionError):
            await attempt(node.port, security_protocol="SSL", ssl_context=context)  # TLS, no SASL
        with pytest.raises(SaslAuthenticationFailed):
            await attempt(node.port, sasl_plain_username="allocation", sasl_plain_password="not-its-password",
                          **sasl)
        await attempt(node.port, sasl_plain_username="allocation", sasl_plain_password=access.passwords["allocation"],
                      **sasl)  # the same door with the right password: answered


async def test_the_acls_hold_on_the_cluster(cluster_stack: LocalStack) -> None:
    access = cluster_stack.access
    assert access is not None
    reader = AIOKafkaConsumer(CONTACTS_DA_INCIDENT_REPORTED.name, bootstrap_servers=cluster_stack.bootstrap,
                              group_id="allocation", **access.connection("allocation").client_kwargs())
    with pytest.raises(TopicAuthorizationFailedError):
        await reader.start()
    await reader.stop()
    writer = AIOKafkaProducer(bootstrap_servers=cluster_stack.bootstrap, acks="all", enable_idempotence=True,
                              **access.connection("contacts").client_kwargs())
    await writer.start()
    try:
        for partition in range(SCHOOLS_ENROLMENTS.partitions):  # led by different nodes
            with pytest.raises(TopicAuthorizationFailedError):
                await writer.send_and_wait(SCHOOLS_ENROLMENTS.name, b"{}", key=b"100000", partition=partition)
    finally:
        await writer.stop()
