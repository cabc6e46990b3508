"""What one bench run measured: each part's result (None where it did not run), the steps that failed,
when it started, how long it took and how loaded the machine was before it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .anchors_kafka_tools import ConsumerResult, ProducerResult
from .contacts_http import ContactsHttpResult
from .context import Sizes
from .da_load import DaWebhookResult
from .da_sign_in_hammer import HammerResult
from .http_load import HttpResult
from .kafka_io import FlowResult
from .outcomes_rebuild import RebuildResult


@dataclass
class Results:
    sizes: Sizes
    producer: ProducerResult | None = None
    consumer: ConsumerResult | None = None
    bare_loop: FlowResult | None = None
    bare_http: tuple[HttpResult, HttpResult] | None = None
    contacts_kafka: FlowResult | None = None
    contacts_http: ContactsHttpResult | None = None
    allocation: FlowResult | None = None
    # The same two flows with two `consume` workers per service on PostgreSQL (the lines above: one, SQLite).
    contacts_kafka_postgresql: FlowResult | None = None
    allocation_postgresql: FlowResult | None = None
    postgresql_cpu_seconds: dict[str, float] = field(default_factory=dict)  # by service: its processes' CPU meanwhile
    da_webhook: DaWebhookResult | None = None
    da_webhook_cluster: DaWebhookResult | None = None  # the same on three brokers (replication 3)
    da_sign_in_hammer: HammerResult | None = None
    outcomes_rebuild: RebuildResult | None = None
    failures: dict[str, str] = field(default_factory=dict)
    started: datetime = field(default_factory=lambda: datetime.now(UTC))
    seconds: float = 0.0
    # The machine is shared: the 1-minute load average before the bench started its own processes.
    load_before: float = field(default_factory=lambda: os.getloadavg()[0])
    parts: frozenset[str] | None = None  # what `--only` ran (None: everything)
