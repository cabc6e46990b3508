"""`frontdoor-outcomes rebuild`: every projection (the families' pictures,
the read model, the family views) rebuilt from the input topics from their
first offset into a database of its own, nothing published, with a
progress bar; then the KPI report of a period, to compare with the live one.

The records of every input partition are read up to the end offsets seen
at the start and applied in the order the broker stored them (record
timestamp, then topic, partition and offset), which is close to the order
the live stream saw them in; the rules judge by the events' own times, so
the pictures come out the same.

The records stream through; none is kept: the partitions, each in offset
order, are merged by that key (a k-way merge, `merge.py`) a chunk of each
at a time (`partitions.py`) and applied `BATCH` at a time, each batch in
one transaction. The records held at once are bounded by the partitions
times the chunk (36 x 500) plus a batch, whatever the number of records.
The order is exactly that of one sort of every record by the key whenever
no partition's timestamps go back (they are the producers' clocks); a
record below one applied before it is applied in its partition's order
(as the live stream reads it) and counted (`Rebuilt.behind`, printed).
The families' pictures are what else grows with the data (about 14 kB a
family of a few contacts and facts): the most recently used `keep` are
held, the others written as JSON into a temporary file of the rebuild's
own (`pictures.py`), so memory stays flat in the number of families too;
such a picture is read back for the final review and its view, and
whenever a record finds it gone from memory (about 0.1 ms each way)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from operator import itemgetter

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import insert
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.collector import fewer_collections
from frontdoor_platform.database import for_writing
from frontdoor_platform.kafka_security import PLAINTEXT, KafkaSecurity
from frontdoor_platform.routes import Incoming

from ..domain.thresholds import Thresholds
from ..models import FamilyViewRow
from ..readmodel.apply import buffered
from ..readmodel.report import kpi_report
from ..readmodel.report_models import KpiReport
from . import ledger
from .merge import Merge
from .partitions import CHUNK, InputPartitions, Ordered
from .pictures import KEEP, Pictures
from .processor import INPUT_TOPICS, Processor

BATCH = 2000  # records applied in one transaction; also the families whose views are written in one


@dataclass(frozen=True)
class Rebuilt:
    records: int
    families: int
    read_seconds: float  # reading and merging the partitions
    apply_seconds: float  # applying the batches, the last review and the views
    peak_held: int = 0  # the most records held at once (the partitions' chunks and a batch)
    behind: int = 0  # records applied after one with a later broker time (0: exactly the one sort's order)
    spilled: int = 0  # pictures written to the rebuild's temporary file
    read_back: int = 0  # pictures read from it

    def summary(self) -> str:
        behind = (f"; {self.behind} records had a broker time below one applied before them (applied in "
                  "their partition's order)" if self.behind else "")
        spilled = (f"; family pictures written to disk {self.spilled} times, read back {self.read_back} times"
                   if self.spilled else "")
        return (f"rebuilt {self.families} families from {self.records} records: read in {self.read_seconds:.1f} s, "
                f"applied in {self.apply_seconds:.1f} s; at most {self.peak_held} records held at once"
                f"{spilled}{behind}")


class Projections:
    """What a rebuild builds, a batch at a time: the families' pictures (`pictures`: those beyond its `keep`
    on disk between batches), the SQL side of each batch in one transaction, nothing published."""

    def __init__(self, engine: Engine, th: Thresholds, source_uri: str, now: datetime, pictures: Pictures):
        self.engine, self.th, self.now, self.pictures = engine, th, now, pictures
        self.processor = Processor(pictures, {}, th, source_uri, objects=True)

    def apply(self, records: Sequence[Incoming]) -> None:
        steps = [self.processor.step(incoming) for incoming in records]
        with Session(for_writing(self.engine)) as session:
            with buffered(session):
                ledger.record(session, steps, self.th, self.now, publish=False, views=False)
            session.commit()
        self.processor.commit()
        self.pictures.trim()

    def finish(self) -> int:
        """Every family reviewed as of now (a sustain or quiet period ended) in the order of their ids, and
        its view written, `BATCH` families a transaction, then dropped (neither kept nor written back: the
        pictures are done with); how many families."""
        families = self.pictures.ordered()
        count = 0
        while keys := list(itertools.islice(families, BATCH)):
            reviewed = self.processor.review(keys, self.now)
            with Session(for_writing(self.engine)) as session:
                with buffered(session):
                    ledger.record(session, [reviewed], self.th, self.now, publish=False, views=False)
                # the rebuild's database had no views (emptied; the batches write none): inserted, not merged
                session.execute(insert(FamilyViewRow), [ledger.view_row(self.pictures[key], self.th, self.now)
                                                        for key in keys])
                session.commit()
            self.processor.commit()
            self.pictures.drop(keys)
            count += len(keys)
        return count


async def replay(inputs: InputPartitions, projections: Projections, advance: Callable[[int], None],
                 batch_size: int = BATCH) -> Rebuilt:
    """Every record of the open `inputs`, merged and applied `batch_size` at a time; the final review and
    the views not yet (`projections.finish()`)."""
    merge: Merge[Ordered] = Merge(inputs.sources(), key=itemgetter(0))
    apply_seconds = 0.0
    began = time.perf_counter()
    async for batch in merge.batches(batch_size):
        applying = time.perf_counter()
        projections.apply([incoming for _, incoming in batch])
        apply_seconds += time.perf_counter() - applying
        advance(len(batch))
    read_seconds = time.perf_counter() - began - apply_seconds
    return Rebuilt(merge.count, 0, read_seconds, apply_seconds, merge.peak, merge.behind)


async def _read_and_apply(bootstrap: str, security: KafkaSecurity, projections: Projections, chunk: int,
                          advance: Callable[[int], None], total: Callable[[int], None]) -> Rebuilt:
    began = time.perf_counter()
    async with InputPartitions(bootstrap, INPUT_TOPICS, security, chunk=chunk) as inputs:
        total(inputs.total)
        opened = time.perf_counter() - began
        done = await replay(inputs, projections, advance)
    return replace(done, read_seconds=opened + done.read_seconds)


def rebuild(bootstrap: str, engine: Engine, th: Thresholds, source_uri: str, now: datetime, *,
            show: bool = True, security: KafkaSecurity = PLAINTEXT, chunk: int = CHUNK, keep: int = KEEP) -> Rebuilt:
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   disable=not show)
    # the collector walked the pictures held at every few hundred allocations: 45% of a rebuild's time
    with fewer_collections(), Pictures(keep) as pictures, bar as progress:
        projections = Projections(engine, th, source_uri, now, pictures)
        task = progress.add_task("rebuilding from the topics", total=None)
        done = asyncio.run(_read_and_apply(bootstrap, security, projections, chunk,
                                           lambda n: progress.advance(task, n),
                                           lambda n: progress.update(task, total=n)))
        began = time.perf_counter()
        families = projections.finish()
        return replace(done, families=families, apply_seconds=done.apply_seconds + time.perf_counter() - began,
                       spilled=pictures.spilled, read_back=pictures.read_back)


def report_of(engine: Engine, start: datetime, end: datetime, now: datetime) -> KpiReport:
    with Session(engine) as session:
        return kpi_report(session, start, end, now)
