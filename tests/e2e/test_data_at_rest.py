"""Data at rest on a real broker's machine is its owner's alone: the Kafka
log directories the stack tool makes (the session's broker, started by
`KafkaBroker` as `frontdoor-stack up` starts it) and the outcomes stream's
data directory (the faust app started against that broker, from a folder an
earlier run left open) are 0700. The SQLite files are in
services/platform/tests/test_private_files.py."""

from __future__ import annotations

import asyncio
import os
import stat
import uuid
from pathlib import Path

from frontdoor_platform.clock import utc_now
from frontdoor_platform.database import build_engine
from frontdoor_stack.kafka_broker import KafkaBroker
from outcomes.domain.thresholds import Thresholds
from outcomes.metrics import Metrics
from outcomes.migrations import migrate
from outcomes.settings import Settings
from outcomes.stream.agents import FaustStream


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class Relay:
    def wake(self) -> None:
        pass


def test_the_brokers_directories_are_0700(kafka_broker: KafkaBroker | None) -> None:
    assert kafka_broker is not None, "the session's own broker (FRONTDOOR_TEST_KAFKA_BOOTSTRAP unset)"
    assert (kafka_broker.data_dir / "meta.properties").is_file()  # the log directory Kafka formatted and uses
    assert mode(kafka_broker.workdir) == mode(kafka_broker.data_dir) == 0o700


async def test_the_outcomes_streams_data_directory_is_tightened_to_0700(kafka_bootstrap: str, tmp_path: Path) -> None:
    data = tmp_path / "stream"
    data.mkdir()
    os.chmod(data, 0o755)  # as an earlier run under umask 022 left it
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'outcomes.db'}", kafka_bootstrap=kafka_bootstrap,
                        stream_id=f"outcomes-at-rest-{uuid.uuid4().hex[:8]}", stream_data_dir=data)
    engine = build_engine(settings.database_url)
    migrate(engine)
    stream = FaustStream(settings, engine, Relay(), Metrics(), utc_now, Thresholds())  # type: ignore[arg-type]
    running = asyncio.create_task(stream.run())
    try:
        async with asyncio.timeout(90):
            while not stream.running:
                assert not running.done(), running
                await asyncio.sleep(0.05)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        engine.dispose()
    assert mode(data) == 0o700
