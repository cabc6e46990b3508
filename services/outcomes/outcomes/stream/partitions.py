"""A rebuild's input: every partition of the input topics, from its first
offset to the end offset seen at the start (records appended later are
not read), each partition a source of chunks in offset order for the
merge (`merge.py`). A consumer with no group, nothing committed.

What is held is bounded per partition, not per record: the client fetches
a partition again only once what it fetched is handed over (at most
`PARTITION_FETCH_BYTES` of raw records each), a chunk is at most `chunk`
records, and a partition read to its end is paused. Every wait is bounded:
a partition that gives nothing for `stall_seconds` while short of its end
is an error naming it and the offsets (the broker down or out of reach),
never a stall. (A batch larger than the fetch size still comes whole: the
broker always returns the first one.)"""

from __future__ import annotations

import asyncio
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition

from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.routes import Incoming

from .merge import Source

PARTITION_FETCH_BYTES = 1024 * 1024  # raw records buffered per partition by the client, at most
CHUNK = 500  # records decoded per partition at a time
# A record with the order it is applied in: broker timestamp, then topic, partition and offset.
Ordered = tuple[tuple[int, str, int, int], Incoming]


class StalledError(RuntimeError):
    pass


class InputPartitions:
    """`async with InputPartitions(...) as inputs`: `inputs.sources()` (one per partition with records),
    `inputs.total` (the records below the end offsets)."""

    def __init__(self, bootstrap: str, topics: tuple[str, ...], security: KafkaSecurity = PLAINTEXT, *,
                 chunk: int = CHUNK, stall_seconds: float = 120.0):
        self._bootstrap, self._topics, self._security = bootstrap, topics, security
        self.chunk, self.stall_seconds = chunk, stall_seconds
        self._consumer: AIOKafkaConsumer | None = None
        self.partitions: list[TopicPartition] = []
        self.ends: dict[TopicPartition, int] = {}
        self.total = 0

    async def __aenter__(self) -> InputPartitions:
        known = await self._existing()
        topics = [t for t in self._topics if t in known]
        if not topics:
            return self
        consumer = AIOKafkaConsumer(*topics, bootstrap_servers=self._bootstrap, **self._security.client_kwargs(),
                                    enable_auto_commit=False, group_id=None, auto_offset_reset="earliest",
                                    max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
                                    fetch_max_bytes=32 * 1024 * 1024)
        self._consumer = consumer
        await consumer.start()  # no group: every partition of the topics is assigned here
        try:
            for _ in range(100):
                if consumer.assignment():
                    break
                await asyncio.sleep(0.1)
            partitions = sorted(consumer.assignment())
            if not partitions:
                return self
            await consumer.seek_to_beginning(*partitions)
            ends = await consumer.end_offsets(partitions)
            starts = await consumer.beginning_offsets(partitions)
        except BaseException:
            await self.__aexit__(None, None, None)
            raise
        self.partitions = [tp for tp in partitions if ends[tp] > starts[tp]]
        self.ends = {tp: ends[tp] for tp in self.partitions}
        self.total = sum(ends[tp] - starts[tp] for tp in self.partitions)
        consumer.pause(*[tp for tp in partitions if tp not in self.ends])
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _existing(self) -> set[str]:
        probe = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, **self._security.client_kwargs())
        await probe.start()
        try:
            return set(await probe.topics())
        finally:
            await probe.stop()

    def sources(self) -> list[Source[Ordered]]:
        return [self._source(tp) for tp in self.partitions]

    def _source(self, tp: TopicPartition) -> Source[Ordered]:
        done = False

        async def next_chunk() -> list[Ordered]:
            nonlocal done
            while not done:
                chunk, done = await self._read(tp)
                if chunk:
                    return chunk
            return []

        return next_chunk

    async def _read(self, tp: TopicPartition) -> tuple[list[Ordered], bool]:
        """The partition's next records below its end offset (perhaps none yet), and whether it is read to
        its end (then it is paused: the client fetches nothing more for it)."""
        consumer, end = self._consumer, self.ends[tp]
        assert consumer is not None, "read outside `async with`"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.stall_seconds
        while True:
            got = (await consumer.getmany(tp, timeout_ms=1000, max_records=self.chunk)).get(tp, [])
            chunk = [((r.timestamp, r.topic, r.partition, r.offset),
                      Incoming(r.topic, r.partition, r.offset, r.key, r.value, tuple(r.headers or ())))
                     for r in got if r.offset < end]
            done = got[-1].offset >= end - 1 if got else await consumer.position(tp) >= end
            if done:
                consumer.pause(tp)
            if chunk or done:
                return chunk, done
            if loop.time() > deadline:
                raise StalledError(f"{tp.topic} partition {tp.partition} gave nothing for {self.stall_seconds:.0f} s "
                                   f"at offset {await consumer.position(tp)} of {end}")
