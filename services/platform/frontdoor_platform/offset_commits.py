"""A batch's offsets committed to the broker while the consumer goes on to the next batch.

The offsets go only after the batch's database transaction has committed, as before; what changes is that
the consumer no longer waits for the broker's answer (a round trip, 2-4 ms beside 200 contacts/s, a quarter
of a small batch's fixed cost) before it fetches and applies the next. Commits go one at a time, in order:
a batch's offsets are sent once the batch before's are answered. A commit the group refuses (a rebalance
moved the partitions) is logged, and those records are applied again where they went (idempotent, as
before). Any other failure is logged as it happens and raised at the next batch, and the consumer starts
again from the last commit (the batches since are applied again: idempotent). A stop waits for the last
commit queued (up to `STOP_WAIT_SECONDS`), so a rolling restart does not apply the last batch again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import CommitFailedError, IllegalStateError
from aiokafka.structs import OffsetAndMetadata, TopicPartition

log = logging.getLogger("frontdoor.consumer")

STOP_WAIT_SECONDS = 10.0


class OffsetCommits:
    def __init__(self, consumer: AIOKafkaConsumer):
        self._consumer = consumer
        self._last: asyncio.Task[None] | None = None

    async def commit(self, batches: Mapping[TopicPartition, Sequence[ConsumerRecord[bytes, bytes]]],
                     committed: Callable[[], None]) -> None:
        """Queue the commit of the offsets after `batches` (sent once the batch before's are answered; queued
        before anything is awaited, so a stop that comes now still waits for it), then wait for the batch
        before's commit: at most one is waiting, and its failure is raised here. `committed` runs when the
        broker took them."""
        offsets = {tp: OffsetAndMetadata(part[-1].offset + 1, "") for tp, part in batches.items() if part}
        previous = self._last
        self._last = asyncio.create_task(self._after(previous, offsets, sum(len(p) for p in batches.values()),
                                                     committed))
        self._last.add_done_callback(_retrieved)  # a failure is logged where it happens, raised once
        if previous is not None:
            await asyncio.shield(previous)  # cancelled here, `stop` still waits for the commit queued

    async def stop(self) -> None:
        """Let the last commit end (up to `STOP_WAIT_SECONDS`); a failure was logged as it happened."""
        last, self._last = self._last, None
        if last is None:
            return
        done, _ = await asyncio.wait({last}, timeout=STOP_WAIT_SECONDS)
        if not done:
            last.cancel()
            log.warning("offsets not committed before the stop: the last batch is applied again (idempotent)")

    async def _after(self, previous: asyncio.Task[None] | None, offsets: dict[TopicPartition, OffsetAndMetadata],
                     records: int, committed: Callable[[], None]) -> None:
        if previous is not None:
            await previous  # its failure is this commit's too: not sent (the consumer starts again from the last)
        try:
            await self._consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError):  # a rebalance moved partitions mid-batch
            log.warning("offsets not committed: the group rebalanced during the batch; the records are applied "
                        "again where they went (idempotent)", extra={"records": records})
            return
        except Exception as exc:
            log.warning("offsets not committed: the consumer starts again from the last commit at its next batch "
                        "(the batches since are applied again: idempotent)", extra={"error": type(exc).__name__})
            raise
        committed()


def _retrieved(task: asyncio.Task[None]) -> None:
    if not task.cancelled():
        task.exception()
