"""Several workers of the contacts service in one consumer group, on the real broker and PostgreSQL: the
kit's BatchConsumer each, as `consume` runs it, on a burst of contacts and decisions about the same
households arriving on different partitions at once (`workers_testkit`). They leave what one worker
would: one person per child and parent, one family per household (merged once where contacts linked
two), one data key per child of a DA incident published once, every contact, link, decision and outbox
event once, the re-referral flags that follow from the decision times, nothing dead-lettered, nothing
left waiting. One worker takes small batches (a lock per value), another large ones (the whole index,
alone). And while a worker holds a batch in its transaction, two more join and then it leaves, so its
partitions move while its batch is in flight: nothing is lost, and what is applied twice changes
nothing."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import threading
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from contacts_testkit import NOW, SEALING
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from workers_testkit import Burst, new_topics, produce

from contacts import subscriptions
from contacts.metrics import Metrics
from contacts.models import (
    ChildReferral,
    Contact,
    ContactPerson,
    FamilyMerge,
    MashDecision,
    OutboxEvent,
    PendingDecision,
    Person,
    PersonKey,
)
from contacts.settings import Settings
from frontdoor_contracts.topics import FRONTDOOR_CONTACTS, FRONTDOOR_DECISIONS
from frontdoor_platform.consumer import BatchConsumer
from frontdoor_platform.routes import Consumed, Route, Routes

DUPLICATES = "frontdoor_contacts_duplicates_total"
GUARD_SECONDS = 240  # a hang guard only: the burst is applied long before, or the test fails saying so


@dataclass
class Gate:
    """Holds a worker's first contact in its batch's transaction (the prefetch's locks taken) until opened."""

    reached: threading.Event = field(default_factory=threading.Event)
    opened: threading.Event = field(default_factory=threading.Event)

    def around(self, route: Route[Any, Any]) -> Route[Any, Any]:
        def apply(session: Session, event: Any, where: Consumed) -> Any:
            self.reached.set()
            self.opened.wait(GUARD_SECONDS)
            return route.apply(session, event, where)
        return dataclasses.replace(route, apply=apply)


@dataclass
class Workers:
    """Workers of one consumer group reading the burst's own topics."""

    bootstrap: str
    engine: Engine
    contacts_topic: str
    decisions_topic: str
    group: str
    running: dict[str, tuple[Metrics, asyncio.Task[None]]] = field(default_factory=dict)
    stopped: list[Metrics] = field(default_factory=list)

    @classmethod
    async def on_new_topics(cls, bootstrap: str, engine: Engine, partitions: int) -> Workers:
        name = uuid.uuid4().hex[:10]
        contacts, decisions = f"test.workers.contacts.{name}", f"test.workers.decisions.{name}"
        await new_topics(bootstrap, contacts, decisions, partitions=partitions)
        return cls(bootstrap, engine, contacts, decisions, f"contacts-workers-{name}")

    def start(self, name: str, batch_size: int, gate: Gate | None = None) -> None:
        metrics = Metrics()
        service = subscriptions.routes(Settings(), metrics, sealing=SEALING).by_topic
        contacts = service[FRONTDOOR_CONTACTS.name]
        routes = (Routes().add(self.contacts_topic, gate.around(contacts) if gate else contacts)
                  .add(self.decisions_topic, service[FRONTDOOR_DECISIONS.name]))
        consumer = BatchConsumer(bootstrap=self.bootstrap, group=self.group, client_id=name, routes=routes,
                                 engine=self.engine, outbox=OutboxEvent, metrics=metrics, batch_size=batch_size,
                                 clock=lambda: NOW)
        self.running[name] = (metrics, asyncio.create_task(consumer.run()))

    async def stop(self, *names: str) -> None:
        for name in names or tuple(self.running):
            metrics, task = self.running.pop(name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            self.stopped.append(metrics)

    def counted(self, metric: str, topic: str | None = None) -> float:
        labels = {"topic": topic} if topic else {}
        return sum(m.registry.get_sample_value(metric, labels) or 0
                   for m in [*self.stopped, *(m for m, _ in self.running.values())])

    async def until_applied(self, contacts: int, decisions: int = 0) -> None:
        """Until at least `contacts` contacts and `decisions` decisions are recorded."""
        async def done() -> bool:
            recorded, decided = await asyncio.to_thread(applied, self.engine)
            return recorded >= contacts and decided >= decisions
        await self.until(done, f"{contacts} contacts and {decisions} decisions recorded")

    async def until(self, done: Callable[[], Awaitable[bool]], what: str) -> None:
        try:
            async with asyncio.timeout(GUARD_SECONDS):
                while not await done():
                    stopped = [name for name, (_, task) in self.running.items() if task.done()]
                    assert stopped == [], f"workers stopped: {stopped}"
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise AssertionError(f"never: {what}") from None


def applied(engine: Engine) -> tuple[int, int]:
    with Session(engine) as session:
        return (int(session.exec(select(func.count()).select_from(Contact)).one()),
                int(session.exec(select(func.count()).select_from(MashDecision)).one()))


def check(engine: Engine, burst: Burst) -> None:
    """What one worker makes of the burst: the counts first (all of them in the message when one is off),
    then who is in which family, the keys, the events and the flags."""
    with Session(engine) as session:
        persons = list(session.exec(select(Person)).all())
        contacts = {c.id: c for c in session.exec(select(Contact)).all()}
        links = session.exec(select(func.count()).select_from(ContactPerson)).one()
        merges = session.exec(select(FamilyMerge)).all()
        keys = {k.person_id for k in session.exec(select(PersonKey)).all()}
        outbox = [(row.topic, row.key) for row in session.exec(select(OutboxEvent)).all()]
        decided = {d.contact_id: d.re_referral for d in session.exec(select(MashDecision)).all()}
        referrals = {(r.child_id, r.contact_id): r.re_referral for r in session.exec(select(ChildReferral)).all()}
        waiting = session.exec(select(func.count()).select_from(PendingDecision)).one()
    topics = Counter(topic for topic, _ in outbox)
    seen = {"people": len(persons), "families": len({p.family_id for p in persons}), "contacts": len(contacts),
            "links": links, "keys": len(keys), "keys published": topics["contacts.person-keys.v1"],
            "recorded events": topics["contacts.recorded.v1"], "da events": topics["contacts.da-incident-reported.v1"],
            "decisions": len(decided), "decided events": topics["contacts.decided.v1"], "waiting": waiting,
            "dead letters": sum(n for t, n in topics.items() if t.endswith(".dlq"))}
    da = sum(1 for _, event in burst.contacts.values() if event.data.da_incident is not None)
    assert seen == {"people": 3 * len(burst.households), "families": len(burst.households),
                    "contacts": len(burst.contacts), "links": burst.links, "keys": len(burst.da_children),
                    "keys published": len(burst.da_children), "recorded events": len(burst.contacts),
                    "da events": da, "decisions": len(burst.decisions), "decided events": len(burst.decisions),
                    "waiting": 0, "dead letters": 0}, seen
    people = {p.nhs_number: p for p in persons}
    families = {h.number: {people[n].family_id for n in h.nhs_numbers().values()} for h in burst.households}
    assert all(len(f) == 1 for f in families.values()), families
    for contact_id, (household, _) in burst.contacts.items():
        assert {contacts[contact_id].family_id} == families[household.number]
    live = {f for found in families.values() for f in found}
    assert not live & {m.merged_family_id for m in merges}  # every merged family is merged for good
    assert topics["contacts.families-merged.v1"] == len({m.contact_id for m in merges})
    assert keys == {people[n].id for n in burst.da_children}
    assert sorted(k for t, k in outbox if t == "contacts.person-keys.v1") == sorted(str(k) for k in keys)
    assert sorted(k for t, k in outbox if t == "contacts.recorded.v1") == sorted(str(c) for c in burst.contacts)
    assert decided == burst.decided_flags()
    by_nhs = {p.id: n for n, p in people.items()}
    assert {(by_nhs[child], c): flag for (child, c), flag in referrals.items()} == burst.referrals


@pytest.mark.parametrize("batch_sizes", [(3, 3), (5, 200)], ids=["small_batches", "small_and_large_batches"])
async def test_two_workers_on_a_burst_about_the_same_households_give_what_one_gives(
        kafka_bootstrap: str, postgres_engine: Engine, batch_sizes: tuple[int, int]) -> None:
    burst = Burst.of(households=10)
    workers = await Workers.on_new_topics(kafka_bootstrap, postgres_engine, partitions=4)
    for number, batch_size in enumerate(batch_sizes, start=1):
        workers.start(f"worker-{number}", batch_size=batch_size)
    try:
        await produce(kafka_bootstrap, burst.records(workers.contacts_topic, workers.decisions_topic))
        await workers.until_applied(len(burst.contacts), len(burst.decisions))
    finally:
        await workers.stop()
    check(postgres_engine, burst)
    print("consumer restarts:", workers.counted("frontdoor_contacts_consumer_restarts_total"))


async def test_workers_joining_and_one_leaving_mid_batch_lose_nothing_and_apply_nothing_twice(
        kafka_bootstrap: str, postgres_engine: Engine) -> None:
    burst = Burst.of(households=10, start=40)
    workers = await Workers.on_new_topics(kafka_bootstrap, postgres_engine, partitions=6)
    records = burst.records(workers.contacts_topic, workers.decisions_topic)
    half, gate = len(records) // 2, Gate()
    workers.start("worker-1", batch_size=20, gate=gate)  # alone at first: it is sure to hold contacts
    try:
        await produce(kafka_bootstrap, records[:half])
        await workers.until(async_check(gate.reached.is_set), "worker-1 holding a batch")
        workers.start("worker-2", batch_size=10)  # the group rebalances while worker-1's batch is in flight
        workers.start("worker-3", batch_size=10)
        await produce(kafka_bootstrap, records[half:])
        await workers.stop("worker-1")  # it leaves mid-batch: its partitions move on from its last commit
        gate.opened.set()  # and its batch commits in the database, its offsets never
        await workers.until_applied(len(burst.contacts), len(burst.decisions))
        await workers.until(async_check(lambda: workers.counted(DUPLICATES, FRONTDOOR_CONTACTS.name) > 0),
                            "worker-1's contacts applied again by the workers its partitions moved to")
    finally:
        gate.opened.set()
        await workers.stop()
    check(postgres_engine, burst)
    print("duplicates:", workers.counted(DUPLICATES, FRONTDOOR_CONTACTS.name),
          workers.counted(DUPLICATES, FRONTDOOR_DECISIONS.name),
          "consumer restarts:", workers.counted("frontdoor_contacts_consumer_restarts_total"))


def async_check(check: Callable[[], bool]) -> Callable[[], Awaitable[bool]]:
    async def checked() -> bool:
        return check()
    return checked
