"""The demo stream as `frontdoor-stack demo` (and `make run`) publishes it:
contacts at a steady rate, a MASH decision on most of them a few contacts
later (`demo`), partner data about a share of the new families a few
contacts after their first and, every few contacts, a family known only
from data (`demo_partners`), all with a plain Kafka producer (acks=all,
idempotent); beside it the case worker (`case_worker`) allocates, offers
and closes the Early Help cases that open, through the allocation API.

`demo_batches` is the generation alone (no broker): what is sent after each
contact, in order. With a seed it is the same every time (event ids and
times aside for contacts and decisions, which the platform derives ids
from)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS

from .case_worker import CaseTally, CaseWorker, CaseWorkerSettings
from .demo import DECISION_LAG, DECISION_SHARE, DemoStream, Family
from .demo_partners import DATA_ONLY_EVERY, PARTNER_LAG, PartnerFeed
from .kafka_access import KafkaAccess
from .kafka_clients import Producers

Clock = Callable[[], datetime]


class Kind(StrEnum):
    CONTACT = "contact"
    DECISION = "decision"
    PARTNER = "partner"  # a partner record about one of the demo's families
    DATA_ONLY = "data_only"  # a partner record about a family known only from data


@dataclass(frozen=True)
class Outgoing:
    kind: Kind
    topic: str
    key: str
    value: str  # the CloudEvent, structured JSON
    starts_family: bool = False  # the first record of a family known only from data


def _utc_now() -> datetime:
    return datetime.now(UTC)


def demo_batches(stream: DemoStream, feed: PartnerFeed | None, count: int,
                 clock: Clock = _utc_now) -> Iterator[list[Outgoing]]:
    """After each of `count` contacts (0: for ever), the records to send:
    the contact, the decisions due (DECISION_LAG contacts after theirs), the
    partner data due (PARTNER_LAG contacts after a new family's first
    contact) and, every DATA_ONLY_EVERY contacts, a family known only from
    data. A last batch sends whatever is still due. Built lazily, each batch
    at its own time."""
    decisions: deque[str] = deque()
    partner_due: deque[tuple[int, Family]] = deque()
    made = 0

    def decided(keep: int) -> list[Outgoing]:
        out = []
        while len(decisions) > keep:
            key, value = stream.decision(decisions.popleft(), clock())
            out.append(Outgoing(Kind.DECISION, FRONTDOOR_DECISIONS.name, key, value))
        return out

    def partnered(upto: int | None) -> list[Outgoing]:
        out = []
        while partner_due and (upto is None or partner_due[0][0] <= upto):
            _, family = partner_due.popleft()
            assert feed is not None
            out += [Outgoing(Kind.PARTNER, r.topic, r.key, r.value) for r in feed.about(family, clock())]
        return out

    while count == 0 or made < count:
        now = clock()
        key, value, contact_id = stream.contact(now)
        made += 1
        batch = [Outgoing(Kind.CONTACT, FRONTDOOR_CONTACTS.name, key, value)]
        if stream.rng.random() < DECISION_SHARE:
            decisions.append(contact_id)
        batch += decided(keep=DECISION_LAG)
        if feed is not None:
            if stream.last_was_new and stream.last_family is not None and feed.takes():
                partner_due.append((made + PARTNER_LAG, stream.last_family))
            if made % DATA_ONLY_EVERY == 0:
                taken = {n for f in stream.families for n in [*(c.nhs_number for c in f.children),
                                                               *(a.nhs_number for a in f.adults)] if n}
                records = feed.data_only(now, taken)
                batch += [Outgoing(Kind.DATA_ONLY, r.topic, r.key, r.value, starts_family=i == 0)
                          for i, r in enumerate(records)]
            batch += partnered(made)
        yield batch
    last = decided(keep=0) + (partnered(None) if feed is not None else [])
    if last:
        yield last


@dataclass
class DemoResult:
    contacts: int = 0
    decisions: int = 0
    partner_records: int = 0  # about the demo's families and about families known only from data
    data_families: int = 0  # families known only from data
    cases: CaseTally | None = None  # what the case worker did (None: no case worker)
    stream_done: bool = False

    def counts(self, item: Outgoing) -> None:
        if item.kind is Kind.CONTACT:
            self.contacts += 1
        elif item.kind is Kind.DECISION:
            self.decisions += 1
        else:
            self.partner_records += 1
            self.data_families += item.starts_family

    def line(self) -> str:
        text = (f"{self.contacts} contacts, {self.decisions} decisions, {self.partner_records} partner records, "
                f"families known only from data: {self.data_families}")
        return text + (f"; {self.cases.line()}" if self.cases is not None else "")


async def publish(
    bootstrap: str,
    count: int = 100,
    rate: float = 1.0,
    seed: int | None = None,
    on_progress: Callable[[DemoResult], None] | None = None,
    case_worker: CaseWorkerSettings | None = None,
    partners: bool = True,
    access: KafkaAccess | None = None,
) -> DemoResult:
    """Publish `count` contacts (0: until cancelled) at `rate` per second,
    with a decision on most of them a few contacts later and the partner
    data; with `case_worker`, work the cases meanwhile and, after the last
    contact, until they are closed (bounded by its drain time). On a secured
    broker (`access`) each record goes as its topic's outside producer."""
    stream = DemoStream(seed)
    feed = PartnerFeed(seed) if partners else None
    result = DemoResult()
    progress = on_progress or (lambda _: None)
    worker = CaseWorker(case_worker, seed, lambda: progress(result)) if case_worker else None
    result.cases = worker.tally if worker else None
    stream_done = asyncio.Event()
    producers = Producers(bootstrap, access)
    working = asyncio.create_task(worker.run(stream_done)) if worker else None
    interval = 1.0 / rate if rate > 0 else 0.0
    started = time.monotonic()
    try:
        for batch in demo_batches(stream, feed, count):
            for item in batch:
                await producers.send_and_wait(item.topic, item.value.encode(), key=item.key.encode())
                result.counts(item)
            progress(result)
            if interval and (count == 0 or result.contacts < count):
                delay = started + result.contacts * interval - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
        result.stream_done = True
        progress(result)
        stream_done.set()
        if working is not None:
            await working
    finally:
        if working is not None and not working.done():
            working.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await working
        await producers.stop()
    return result


class _Lines:
    """Plain progress lines (not a terminal): every 10 contacts, at the end
    of the stream, then the case worker's every few seconds while it drains."""

    def __init__(self) -> None:
        self.contacts, self.at, self.text, self.stream_said = -1, 0.0, "", False

    def __call__(self, result: DemoResult) -> None:
        text = result.line()
        if text == self.text:
            return
        now = time.monotonic()
        due = ((result.contacts != self.contacts and result.contacts % 10 == 0 and result.contacts > 0)
               or (result.stream_done and not self.stream_said)
               or (result.cases is not None and result.cases.finished)
               or (result.stream_done and now - self.at >= 5.0))
        if due:
            print(f"demo: {text}", flush=True)
            self.contacts, self.at, self.text = result.contacts, now, text
            self.stream_said = self.stream_said or result.stream_done


async def publish_with_progress(bootstrap: str, count: int, rate: float, seed: int | None = None,
                                case_worker: CaseWorkerSettings | None = None,
                                access: KafkaAccess | None = None) -> DemoResult:
    """`publish`, with a rich progress bar on a terminal (plain lines otherwise)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console()
    if not console.is_terminal:
        return await publish(bootstrap, count, rate, seed, _Lines(), case_worker, access=access)

    columns = (TextColumn("demo stream"), BarColumn(), MofNCompleteColumn(),
               TextColumn("contacts, {task.fields[decisions]} decisions, {task.fields[partners]} partner records"),
               TextColumn("{task.fields[cases]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("demo", total=count or None, decisions=0, partners=0, cases="")

        def update(result: DemoResult) -> None:
            cases = f"| {result.cases.short()}" if result.cases is not None else ""
            progress.update(task, completed=result.contacts, decisions=result.decisions,
                            partners=result.partner_records, cases=cases)

        return await publish(bootstrap, count, rate, seed, update, case_worker, access=access)

