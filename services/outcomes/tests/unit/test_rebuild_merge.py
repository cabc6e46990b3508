"""The rebuild's k-way merge (stream/merge.py) on synthetic partitions: the
order of one sort by the key whatever the partitions (equal timestamps
across partitions included), each partition in its own order when its
timestamps go back (and counted), and what it holds at once the same
bound for N records and for 10 N, not a share of them."""

from __future__ import annotations

import asyncio
import itertools
import tracemalloc
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from outcomes.stream.merge import Merge, Source

Key = tuple[int, str, int, int]  # broker timestamp, topic, partition, offset: the rebuild's order


class Partition:
    """A source of records (key, payload) handed out `chunk` at a time, made only when asked for, counting
    how many it has made (what the merge was given, whatever the merge itself counts)."""

    def __init__(self, topic: str, partition: int, timestamps: Sequence[int], chunk: int, payload: int = 0):
        self.topic, self.partition, self.timestamps, self.chunk = topic, partition, timestamps, chunk
        self.payload, self.made = payload, 0

    async def next_chunk(self) -> list[tuple[Key, bytes]]:
        await asyncio.sleep(0)  # a real source awaits the broker
        start, self.made = self.made, min(self.made + self.chunk, len(self.timestamps))
        return [((self.timestamps[i], self.topic, self.partition, i), bytes(self.payload))
                for i in range(start, self.made)]


def partitions_of(timelines: list[list[int]], chunk: int, payload: int = 0) -> list[Partition]:
    # two topics, partitions numbered within each: the tie-break runs over topic, then partition, then offset
    return [Partition(("contacts.recorded.v1", "allocation.case-opened.v1")[i % 2], i // 2, timestamps, chunk,
                      payload) for i, timestamps in enumerate(timelines)]


def sources(partitions: list[Partition]) -> list[Source[tuple[Key, bytes]]]:
    return [p.next_chunk for p in partitions]


def run(merge: Merge[tuple[Key, bytes]], size: int) -> list[list[tuple[Key, bytes]]]:
    async def collect() -> list[list[tuple[Key, bytes]]]:
        return [batch async for batch in merge.batches(size)]

    return asyncio.run(collect())


def key(record: tuple[Key, bytes]) -> Key:
    return record[0]


ordered_timelines = st.lists(st.lists(st.integers(0, 20), max_size=30).map(sorted), max_size=8)
any_timelines = st.lists(st.lists(st.integers(0, 20), max_size=30), max_size=8)


@settings(max_examples=300, deadline=None)
@given(timelines=ordered_timelines, chunk=st.integers(1, 6), size=st.integers(1, 9))
def test_partitions_in_time_order_come_out_as_one_sort_of_every_record(timelines: list[list[int]], chunk: int,
                                                                       size: int) -> None:
    partitions = partitions_of(timelines, chunk)
    merge = Merge(sources(partitions), key=key)
    batches = run(merge, size)
    merged = [k for batch in batches for k, _ in batch]
    everything = [((t, p.topic, p.partition, i)) for p in partitions for i, t in enumerate(p.timestamps)]
    assert merged == sorted(everything)  # equal timestamps: by topic, then partition, then offset
    assert merge.behind == 0 and merge.count == len(everything)
    assert all(len(batch) == size for batch in batches[:-1]) and all(0 < len(batch) <= size for batch in batches)


@settings(max_examples=300, deadline=None)
@given(timelines=any_timelines, chunk=st.integers(1, 6), size=st.integers(1, 9))
def test_a_partition_whose_time_goes_back_stays_in_its_own_order_and_is_counted(timelines: list[list[int]],
                                                                               chunk: int, size: int) -> None:
    partitions = partitions_of(timelines, chunk)
    merge = Merge(sources(partitions), key=key)
    merged = [k for batch in run(merge, size) for k, _ in batch]
    everything = [((t, p.topic, p.partition, i)) for p in partitions for i, t in enumerate(p.timestamps)]
    assert sorted(merged) == sorted(everything)  # nothing lost, nothing twice
    for p in partitions:
        offsets = [offset for _, topic, partition, offset in merged if (topic, partition) == (p.topic, p.partition)]
        assert offsets == list(range(len(p.timestamps)))
    descents = sum(1 for before, after in itertools.pairwise(merged) if after < before)
    assert merge.behind == descents
    assert (merge.behind == 0) == (merged == sorted(everything))


def test_the_sources_are_read_only_as_the_merge_needs_them() -> None:
    partitions = partitions_of([[1, 5, 9], [], [2, 2, 2, 2]], chunk=2)
    merge = Merge(sources(partitions), key=key)
    assert run(merge, 100) and [p.made for p in partitions] == [3, 0, 4]
    assert run(Merge([], key=key), 3) == []
    try:
        run(Merge(sources(partitions_of([[1]], 1)), key=key), 0)
    except ValueError as error:
        assert "size" in str(error)
    else:
        raise AssertionError("a batch size of 0 was accepted")


def interleaved(records: int, partitions: int) -> list[list[int]]:
    """`records` timestamps dealt round the partitions, each partition in time order (as the brokers' are)."""
    return [list(range(p, records, partitions)) for p in range(partitions)]


def held_at_most(records: int, partitions: int, chunk: int, size: int) -> tuple[int, int]:
    """The merge's own peak of records held, and the most records made by the sources and not yet handed
    back in a batch the caller has finished with, counted from outside."""
    made = partitions_of(interleaved(records, partitions), chunk)
    merge = Merge(sources(made), key=key)
    handed, outside = 0, 0

    async def drain() -> None:
        nonlocal handed, outside
        async for batch in merge.batches(size):
            outside = max(outside, sum(p.made for p in made) - handed)
            handed += len(batch)

    asyncio.run(drain())
    assert handed == records
    return merge.peak, outside


def test_what_the_merge_holds_is_bounded_by_partitions_times_chunk_not_by_records() -> None:
    partitions, chunk, size = 12, 50, 200
    bound = partitions * chunk + size
    small, large = held_at_most(6_000, partitions, chunk, size), held_at_most(60_000, partitions, chunk, size)
    assert small == large  # the same for ten times the records
    assert all(0 < held <= bound for held in small) and small[0] >= size


def test_its_memory_stays_flat_from_n_to_10n_records() -> None:
    def peak_bytes(records: int) -> int:
        made = partitions_of(interleaved(records, 8), chunk=50, payload=1000)
        merge = Merge(sources(made), key=key)

        async def drain() -> int:
            return sum([len(batch) async for batch in merge.batches(100)])

        tracemalloc.start()
        try:
            assert asyncio.run(drain()) == records
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak_bytes(2_000), peak_bytes(20_000)
    # holding every record would take 18 MB more for the larger run (1 kB each); flat: under 1 MB apart
    assert large - small < 1_000_000, (small, large)
