"""End-to-end kit: the real allocation service in its own process against
the session's broker, and builders of the events that trigger it."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontdoor_contracts.contacts import ContactDecided
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_contracts.topics import topics_consumed_by
from frontdoor_stack import processes
from frontdoor_stack.coroutines import run_coroutine_in_thread
from frontdoor_stack.kafka_broker import free_port


@dataclass
class AllocationService:
    process: subprocess.Popen[bytes]
    url: str
    coordinator: str
    agency: str
    env: dict[str, str]
    log: Path

    def headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}


def _cli(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "-m", "allocation.main", *args], env=env, capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


async def group_at_the_end(bootstrap: str, group: str) -> None:
    """Commit `group`'s offsets at the end of every topic allocation consumes, as they are now."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        existing = await consumer.topics()  # names only: the consumer's own metadata may not list them yet
        partitions = [TopicPartition(spec.name, p) for spec in topics_consumed_by("allocation")
                      if spec.name in existing for p in range(spec.partitions)]
        if partitions:
            consumer.assign(partitions)
            await consumer.commit(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


def start_allocation(tmp: Path, bootstrap: str, previous: AllocationService | None = None) -> AllocationService:
    """Start the service; pass `previous` to restart it on the same database and consumer group. A new service
    starts its consumer group at the end of its topics: what other tests published before it on the session's
    broker (thousands of decisions, in some orders) is not its to read, and reading it first ran past the tests'
    waits on a loaded machine."""
    if previous is None:
        group = f"allocation-e2e-{uuid.uuid4().hex[:8]}"
        run_coroutine_in_thread(group_at_the_end(bootstrap, group))
        env = {**os.environ, "ALLOCATION_KAFKA_BOOTSTRAP": bootstrap,
               "ALLOCATION_DATABASE_URL": f"sqlite:///{tmp / 'allocation.db'}",
               "ALLOCATION_CONSUMER_GROUP": group,
               "ALLOCATION_SLA_CHECK_SECONDS": "0.5"}
        coordinator = _cli(env, "create-client", "--name", "e2e-coordinator", "--roles", "coordinator")
        agency = _cli(env, "create-client", "--name", "e2e-agency", "--roles", "agency", "--scope", "hv-team-3")
    else:
        env, coordinator, agency = previous.env, previous.coordinator, previous.agency
    env = {**env, "ALLOCATION_PORT": str(free_port())}
    log = tmp / "allocation.log"
    url = f"http://127.0.0.1:{env['ALLOCATION_PORT']}"
    process = processes.start_and_wait([sys.executable, "-m", "allocation.main", "serve"], env, log, url + "/readyz",
                                       name="allocation")
    return AllocationService(process, url, coordinator, agency, env, log)


def stop_allocation(service: AllocationService) -> None:
    processes.stop(service.process)


def decided(decision: str, decided_at: datetime, **overrides: Any) -> CloudEvent[ContactDecided]:
    child = uuid.uuid4()
    data = ContactDecided.model_validate({
        "contact_id": uuid.uuid4(), "family_id": uuid.uuid4(), "decision": decision, "level_of_need": 3,
        "decided_at": decided_at, "referrer_source": "school", "concerns": ["neglect"],
        "children": [{"child_id": child, "referral": False, "re_referral": False}], "referral": False,
        "re_referral": False, **overrides})
    return new_event(data, source="urn:frontdoor:contacts", time=decided_at)
