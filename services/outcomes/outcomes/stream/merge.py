"""A k-way merge of sources each already in order (a rebuild's input
partitions, each in offset order), read a chunk at a time: one heap entry
per source and one chunk per source held, so what it holds is bounded by
the number of sources times the chunk size plus one batch, whatever the
number of records. No I/O of its own: a source is a coroutine function
that returns the source's next chunk, empty once it is exhausted.

The order is that of one sort by `key` of every record (ties by source,
then place in the source) whenever each source is in `key` order; a
record below one handed out before it (a partition whose broker time went
back) still comes in its source's order, and is counted in `behind`, so
`behind == 0` says the merge gave exactly the full sort's order."""

from __future__ import annotations

import heapq
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Source = Callable[[], Awaitable[Sequence[T]]]


class Merge(Generic[T]):
    def __init__(self, sources: Sequence[Source[T]], key: Callable[[T], Any]):
        self.sources, self.key = list(sources), key
        self.in_chunks = 0  # records of the chunks held now (some may be in the batch too)
        self.peak = 0  # the most records held at once: the chunks held and the batch being filled
        self.behind = 0  # records handed out after one with a greater key
        self.count = 0  # records handed out

    async def _next(self, index: int, batch: list[T]) -> Sequence[T]:
        chunk = await self.sources[index]()
        self.in_chunks += len(chunk)
        self._held(batch)
        return chunk

    def _held(self, batch: list[T]) -> None:
        """Called whenever what is held is about to shrink (and after it grew): the peak of what is held."""
        self.peak = max(self.peak, self.in_chunks + len(batch))

    async def batches(self, size: int) -> AsyncIterator[list[T]]:
        """Every record of every source in merged order, `size` at a time (the last batch may be shorter)."""
        if size < 1:
            raise ValueError("size must be at least 1")
        key = self.key
        chunks: list[Sequence[T]] = []
        places: list[int] = []
        heap: list[tuple[Any, int]] = []  # (the key of the source's next record, the source's index)
        batch: list[T] = []
        for index in range(len(self.sources)):
            chunk = await self._next(index, batch)
            chunks.append(chunk)
            places.append(0)
            if chunk:
                heap.append((key(chunk[0]), index))
        heapq.heapify(heap)
        replace, pop = heapq.heapreplace, heapq.heappop
        last: Any = None
        while heap:
            least, index = heap[0]
            if last is not None and least < last:
                self.behind += 1
            last = least
            chunk, place = chunks[index], places[index] + 1
            batch.append(chunk[place - 1])
            if place == len(chunk):  # the chunk is used up: the source's next one
                self._held(batch)
                self.in_chunks -= len(chunk)
                chunk, place = await self._next(index, batch), 0
                chunks[index] = chunk
            places[index] = place
            if place < len(chunk):
                replace(heap, (key(chunk[place]), index))
            else:
                pop(heap)
            if len(batch) >= size:
                yield self._out(batch)
                batch = []
        if batch:
            yield self._out(batch)

    def _out(self, batch: list[T]) -> list[T]:
        self._held(batch)
        self.count += len(batch)
        return batch
