"""Consumer lag measured from outside the worker.

The worker's own lag gauge disappears exactly when the worker dies. This
watch runs in the API process (which outlives its worker) and asks the
broker, every few seconds, for the consumer group's committed offsets and
the topics' log ends: `frontdoor_<service>_group_lag_records{topic}` and
`frontdoor_<service>_group_committed_offset{topic}` keep being exported while
the worker is down, so "lag growing" and "lag not moving" fire; beside them
`frontdoor_<service>_worker_up` says whether the worker reported lately.
A partition the group never committed counts from its log start (the group
reads from the earliest offset). If the broker does not answer, the last
values stay and `frontdoor_<service>_group_watch_up` says 0."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from .kafka_security import PLAINTEXT, KafkaSecurity

log = logging.getLogger("frontdoor.lag")


@dataclass(frozen=True)
class GroupOffsets:
    """One look at a group: per topic, the records behind the log end and the sum of committed offsets."""

    lag: dict[str, int] = field(default_factory=dict)
    committed: dict[str, int] = field(default_factory=dict)


def group_offsets(topics: Iterable[str], committed: dict[TopicPartition, int], starts: dict[TopicPartition, int],
                  ends: dict[TopicPartition, int]) -> GroupOffsets:
    """Lag and committed offsets per topic from per-partition offsets (pure)."""
    lag = {topic: 0 for topic in topics}
    done = {topic: 0 for topic in topics}
    for tp, end in ends.items():
        position = committed.get(tp, starts.get(tp, 0))
        lag[tp.topic] = lag.get(tp.topic, 0) + max(0, end - position)
        done[tp.topic] = done.get(tp.topic, 0) + position
    return GroupOffsets(lag, done)


class GroupWatch(Collector):
    def __init__(self, service: str, bootstrap: str, group: str, topics: Sequence[str],
                 worker_up: Callable[[], bool], interval_seconds: float = 10.0, security: KafkaSecurity = PLAINTEXT):
        self._service, self._bootstrap, self._group, self._security = service, bootstrap, group, security
        self._topics, self._worker_up, self._interval = tuple(topics), worker_up, interval_seconds
        self._seen = GroupOffsets()
        self._up = False
        self._at = 0.0
        self._admin: AIOKafkaAdminClient | None = None
        self._ends: AIOKafkaConsumer | None = None

    async def refresh(self) -> GroupOffsets:
        """Ask the broker once; raises what the client raises."""
        if self._admin is None or self._ends is None:
            connection = self._security.client_kwargs()
            admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._service}-lag",
                                        **connection)
            ends = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, client_id=f"{self._service}-lag",
                                    enable_auto_commit=False, **connection)
            await admin.start()
            await ends.start()
            self._admin, self._ends = admin, ends
        committed = await self._admin.list_consumer_group_offsets(self._group)
        described = await self._admin.describe_topics(list(self._topics))
        partitions = [TopicPartition(topic["topic"], part["partition"]) for topic in described
                      if not topic.get("error_code") for part in topic.get("partitions", ())]
        starts = await self._ends.beginning_offsets(partitions)
        ends = await self._ends.end_offsets(partitions)
        seen = group_offsets(self._topics, {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0},
                             starts, ends)
        self._seen, self._up, self._at = seen, True, time.time()
        return seen

    async def run(self) -> None:
        """Refresh until cancelled; a broker that does not answer is logged and tried again."""
        try:
            while True:
                try:
                    async with asyncio.timeout(max(5.0, self._interval)):
                        await self.refresh()
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    self._up = False
                    log.warning("could not read the consumer group's offsets", extra={"error": type(exc).__name__})
                    await self._close()
                await asyncio.sleep(self._interval)
        finally:
            await self._close()

    async def stop(self) -> None:
        """Close the watch's clients (a caller that only used `refresh`)."""
        await self._close()

    async def _close(self) -> None:
        admin, ends, self._admin, self._ends = self._admin, self._ends, None, None
        for client in (admin, ends):
            if client is not None:
                with contextlib.suppress(Exception):
                    await client.close() if isinstance(client, AIOKafkaAdminClient) else await client.stop()

    def collect(self) -> Iterable[GaugeMetricFamily]:
        p = f"frontdoor_{self._service}_"
        lag = GaugeMetricFamily(p + "group_lag_records", "Records on the topic the consumer group has not "
                                "committed yet, measured from outside the worker", labels=["topic"])
        done = GaugeMetricFamily(p + "group_committed_offset", "Sum of the consumer group's committed offsets "
                                 "over the topic's partitions (not moving while lag grows: a stuck consumer)",
                                 labels=["topic"])
        for topic in self._topics:
            if topic in self._seen.lag:
                lag.add_metric([topic], self._seen.lag[topic])
                done.add_metric([topic], self._seen.committed[topic])
        yield lag
        yield done
        yield GaugeMetricFamily(p + "group_watch_up", "1 if the last look at the consumer group's offsets "
                                "succeeded", value=1 if self._up else 0)
        yield GaugeMetricFamily(p + "group_watch_timestamp_seconds", "When the consumer group's offsets were "
                                "last read", value=self._at)
        yield GaugeMetricFamily(p + "worker_up", "1 if the service's worker (consumer, relay, timers) reported "
                                "lately", value=1 if self._worker_up() else 0)
