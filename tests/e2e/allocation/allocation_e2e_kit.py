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

from frontdoor_contracts.contacts import ContactDecided
from frontdoor_contracts.envelope import CloudEvent, new_event
from frontdoor_stack import processes
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


def start_allocation(tmp: Path, bootstrap: str, previous: AllocationService | None = None) -> AllocationService:
    """Start the service; pass `previous` to restart it on the same database and consumer group."""
    if previous is None:
        env = {**os.environ, "ALLOCATION_KAFKA_BOOTSTRAP": bootstrap,
               "ALLOCATION_DATABASE_URL": f"sqlite:///{tmp / 'allocation.db'}",
               "ALLOCATION_CONSUMER_GROUP": f"allocation-e2e-{uuid.uuid4().hex[:8]}",
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
