"""The kit's consumer asks the broker to hold a fetch that finds nothing for
the service's `consumer_fetch_wait_ms`, not aiokafka's default, and the
service wiring hands it the setting (which service waits how long:
tests/test_consumer_fetch_wait.py)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from kit_tables import KitOutbox
from pydantic_settings import SettingsConfigDict

from frontdoor_platform import service
from frontdoor_platform.clock import utc_now
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.database import build_engine
from frontdoor_platform.metrics import KitMetrics
from frontdoor_platform.routes import Routes
from frontdoor_platform.settings import ServiceSettings
from frontdoor_platform.testing import MemoryPublisher


class Refused(Exception):
    pass


def test_the_consumer_asks_the_broker_with_its_wait(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    asked: dict[str, Any] = {}

    class Recorder:  # stands in for the client's constructor only: the test stops before any connection
        def __init__(self, *topics: str, **options: Any):
            asked.update(options)

        async def start(self) -> None:
            raise Refused

    monkeypatch.setattr("frontdoor_platform.consumer.AIOKafkaConsumer", Recorder)
    engine = build_engine(f"sqlite:///{tmp_path / 'kit.db'}")
    kit = BatchConsumer(bootstrap="unused:9092", group="g", client_id="t", routes=Routes(), engine=engine,
                        outbox=KitOutbox, metrics=KitMetrics("fetchwait"), fetch_wait_ms=120)
    with pytest.raises(Refused):
        asyncio.run(kit._consume())
    assert asked["fetch_max_wait_ms"] == 120


class WaitSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FETCHWAIT_", extra="ignore")


def test_the_service_wiring_hands_the_setting_to_its_consumer(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'kit.db'}")
    settings = WaitSettings(consumer_fetch_wait_ms=120)

    async def wired() -> Any:
        return await service.build(settings, database_url="unused", client_id="fetchwait", outbox=KitOutbox,
                                   metrics=KitMetrics("fetchwait_wiring"), routes=Routes, migrate=lambda _: None,
                                   clock=utc_now, publisher=MemoryPublisher(), engine=engine)

    parts = asyncio.run(wired())
    assert isinstance(parts.consumer, BatchConsumer)
    assert parts.consumer._fetch_wait_ms == 120
