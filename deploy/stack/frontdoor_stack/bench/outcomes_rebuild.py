"""Project 5: `frontdoor-outcomes rebuild` over N synthetic events. The
events are published straight to the outcomes service's input topics, as
the other services would have published them over a year: contacts
recorded and decided (contacts.recorded.v1, contacts.decided.v1, with
referral and re-referral flags per child), partner facts matched to the
families (contacts.partner-fact-matched.v1: attendance, offending,
employment, health), and the Early Help cases' lives (allocation.case-
opened, case-allocated, offer-made, offer-answered, case-closed.v1, closed
with the 2015 split). Then `frontdoor-outcomes rebuild --into <a fresh
SQLite file> --report FILE --quiet` runs as its own process, as an operator
would run it: records/s and seconds from its start to its exit (its own
read / apply split beside), its peak resident memory and CPU time (the
kernel's ru_maxrss and ru_utime + ru_stime of that process alone, read by
a small parent that only waits for it), and the same extrapolated to 1M
records (`--rebuild-events 1000000` measures it).

The families are generated a thousand at a time, each thousand's events in
the order of their business times, so memory stays flat at 1M. What the
bench's earlier parts left on those topics is deleted first (Kafka's
delete-records), so the rebuild reads this part's events alone."""

from __future__ import annotations

import json
import os
import random
import re
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from frontdoor_contracts.allocation import CaseAllocated, CaseClosed, CaseOpened, OfferAnswered, OfferMade
from frontdoor_contracts.contacts import ContactDecided, ContactRecorded, DecidedChild, RecordedChild
from frontdoor_contracts.envelope import EventData, new_event
from frontdoor_contracts.partners import (
    AttendanceMeasure,
    EmploymentMeasure,
    HealthMeasure,
    OffendingMeasure,
    PartnerFactMatched,
)
from frontdoor_contracts.topics import (
    ALLOCATION_CASE_ALLOCATED,
    ALLOCATION_CASE_CLOSED,
    ALLOCATION_CASE_OPENED,
    ALLOCATION_OFFER_ANSWERED,
    ALLOCATION_OFFER_MADE,
    CONTACTS_DECIDED,
    CONTACTS_PARTNER_FACT_MATCHED,
    CONTACTS_RECORDED,
    topics_consumed_by,
)
from frontdoor_contracts.vocabulary import (
    REFERRAL_DECISIONS,
    CaseSource,
    Channel,
    Concern,
    Decision,
    EmploymentStatus,
    HealthNeed,
    LevelOfNeed,
    OffenceKind,
    OfferAnswer,
    TargetCalendar,
)

from ..case_worker import DECLINE_SHARE, closure_weights
from ..demo import CONCERNS_BY_SOURCE, DECISION_WEIGHTS, DEMO_AGENCIES, LEVEL_FOR_DECISION, SCHOOL_URNS, SOURCE_WEIGHTS
from ..demo_partners import recent_terms
from ..services import ServiceSpec, executable
from .context import BenchContext, Step
from .kafka_io import preload_records, truncate
from .subprocesses import run_bounded

ONE_MILLION = 1_000_000
CHUNK_FAMILIES = 1000
SOURCES = {"contacts": "urn:frontdoor:contacts", "allocation": "urn:frontdoor:allocation"}
TARGET_DAYS = 10
SUMMARY = re.compile(r"rebuilt (\d+) families from (\d+) records: read in ([\d.]+) s, applied in ([\d.]+) s")
USAGE = re.compile(r"^peak resident (\d+) KiB, CPU ([\d.]+) s$", re.MULTILINE)
# Runs the command as its only child and prints that child's peak resident set (Linux: ru_maxrss in KiB) and CPU
# time (user and system) after it: the rebuild's alone, whatever the bench itself or its other children hold. CPU
# time moves less than wall time with what else the machine runs.
USAGE_PARENT = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "used = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(f'peak resident {used.ru_maxrss} KiB, CPU {used.ru_utime + used.ru_stime:.1f} s', flush=True)\n"
    "sys.exit(code)\n"
)


class RebuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class RebuildResult:
    events: int  # published to the input topics
    by_topic: dict[str, int]
    publish_seconds: float
    records: int  # what the rebuild read and applied
    families: int
    seconds: float  # the command's start to its exit
    read_seconds: float  # its own figures
    apply_seconds: float
    report_contacts: int  # from its KPI report: the figures came out
    report_closures: int
    report_identified: int
    cleared: int = 0  # records the earlier parts had left on those topics, deleted first
    peak_rss_bytes: int | None = None  # the rebuild process's peak resident memory
    cpu_seconds: float | None = None  # its CPU time, user and system

    @property
    def peak_rss_mb(self) -> float | None:
        return None if self.peak_rss_bytes is None else self.peak_rss_bytes / 1e6

    @property
    def per_second(self) -> float:
        return self.records / self.seconds if self.seconds else 0.0

    @property
    def overhead_seconds(self) -> float:
        """Start-up, the empty database's migrations and the report: not per record."""
        return max(0.0, self.seconds - self.read_seconds - self.apply_seconds)

    @property
    def extrapolated_seconds(self) -> float:
        """For 1M records: the read and apply time scaled linearly, plus this run's fixed overhead."""
        if not self.records:
            return 0.0
        return self.overhead_seconds + (self.read_seconds + self.apply_seconds) * ONE_MILLION / self.records


# --- the synthetic year ---------------------------------------------------------------------------------------------

def _id(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _pick(rng: random.Random, weights: dict[Any, int] | dict[Any, float]) -> Any:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


@dataclass
class _Family:
    rng: random.Random
    now: datetime
    family_id: uuid.UUID
    children: list[uuid.UUID]
    adults: list[uuid.UUID]
    events: list[tuple[datetime, str, str, EventData]] = field(default_factory=list)
    referrals: dict[uuid.UUID, list[datetime]] = field(default_factory=dict)

    def add(self, at: datetime, topic: str, key: uuid.UUID, data: EventData) -> None:
        self.events.append((at, topic, str(key), data))


def _contact(f: _Family, received: datetime) -> None:
    rng = f.rng
    contact_id = _id(rng)
    source = _pick(rng, SOURCE_WEIGHTS)
    concerns = sorted({rng.choice(CONCERNS_BY_SOURCE[source])}, key=lambda c: c.value)
    da = source.value == "police" and rng.random() < 0.8
    if da:
        concerns = sorted({*concerns, Concern.DOMESTIC_ABUSE}, key=lambda c: c.value)
    children = f.children
    f.add(received, CONTACTS_RECORDED.name, contact_id, ContactRecorded(
        contact_id=contact_id, family_id=f.family_id, referrer_source=source, channel=Channel.KAFKA,
        received_at=received, adult_count=len(f.adults), concerns=concerns, da_incident=da,
        children=[RecordedChild(child_id=c, school_urn=rng.choice(SCHOOL_URNS) if rng.random() < 0.6 else None)
                  for c in children]))
    if rng.random() >= 0.85:
        return  # not decided (yet)
    decided = min(f.now, received + timedelta(hours=rng.uniform(1, 48)))
    decision: Decision = _pick(rng, DECISION_WEIGHTS)
    referral = decision in REFERRAL_DECISIONS
    flags = []
    for child in children:
        earlier = f.referrals.setdefault(child, [])
        again = referral and any(decided - timedelta(days=365) <= when < decided for when in earlier)
        flags.append(DecidedChild(child_id=child, referral=referral, re_referral=again))
        if referral:
            earlier.append(decided)
    level = rng.choice(LEVEL_FOR_DECISION[decision])
    f.add(decided, CONTACTS_DECIDED.name, contact_id, ContactDecided(
        contact_id=contact_id, family_id=f.family_id, decision=decision, level_of_need=level, decided_at=decided,
        referrer_source=source, concerns=concerns, children=flags, referral=referral,
        re_referral=any(flag.re_referral for flag in flags)))
    if decision is Decision.EARLY_HELP:
        _case(f, contact_id, decided, level, concerns)


def _case(f: _Family, contact_id: uuid.UUID, decided: datetime, level: LevelOfNeed, concerns: list[Concern]) -> None:
    rng, now = f.rng, f.now
    case_id = _id(rng)
    children = f.children
    due = decided + timedelta(days=TARGET_DAYS)
    base = {"case_id": case_id, "family_id": f.family_id, "source": CaseSource.EARLY_HELP_DECISION,
            "started_at": decided, "due_at": due}
    opened = min(now, decided + timedelta(seconds=rng.uniform(1, 60)))
    f.add(opened, ALLOCATION_CASE_OPENED.name, case_id, CaseOpened(
        **base, opened_at=opened, child_ids=children, contact_id=contact_id, decision=Decision.EARLY_HELP,
        level_of_need=level, concerns=concerns, target_days=TARGET_DAYS,
        target_calendar=TargetCalendar.CALENDAR_DAYS))
    agency_id, _, kind = rng.choice(DEMO_AGENCIES)
    allocated = opened + timedelta(days=rng.uniform(0.5, 8))
    if allocated > now:
        return
    f.add(allocated, ALLOCATION_CASE_ALLOCATED.name, case_id, CaseAllocated(
        **base, allocated_at=allocated, lead_agency_id=agency_id, agency_kind=kind,
        lead_professional_ref=f"{agency_id}.lp-{rng.randint(1, 6)}", allocated_by="bench.coordinator",
        at_meeting=rng.random() < 0.8))
    offered = allocated + timedelta(days=rng.uniform(0.1, 6))
    if offered > now:
        return
    f.add(offered, ALLOCATION_OFFER_MADE.name, case_id, OfferMade(
        **base, offered_at=offered, lead_agency_id=agency_id, agency_kind=kind,
        days_taken=(offered - decided).days, target_calendar=TargetCalendar.CALENDAR_DAYS,
        within_target=offered < due))
    answered = offered + timedelta(days=rng.uniform(0.1, 5))
    if answered > now:
        return
    answer = OfferAnswer.DECLINED if rng.random() < DECLINE_SHARE else OfferAnswer.ACCEPTED
    f.add(answered, ALLOCATION_OFFER_ANSWERED.name, case_id, OfferAnswered(
        **base, answer=answer, offered_at=offered, answered_at=answered, lead_agency_id=agency_id, agency_kind=kind))
    closed = answered + timedelta(days=rng.uniform(1, 20) if answer is OfferAnswer.DECLINED else rng.uniform(30, 200))
    if closed > now:
        return
    accepted, declined = closure_weights()
    outcome = _pick(rng, declined if answer is OfferAnswer.DECLINED else accepted)
    f.add(closed, ALLOCATION_CASE_CLOSED.name, case_id, CaseClosed(
        **base, closed_at=closed, outcome=outcome, child_ids=children, lead_agency_id=agency_id, agency_kind=kind,
        closed_by=f"{agency_id}.lp-1"))


def _fact(f: _Family, fact_at: datetime) -> None:
    rng = f.rng
    day = fact_at.date()
    kind = rng.choice(("attendance", "attendance", "offending", "employment", "health"))
    person = rng.choice(f.children)
    is_child = True
    measure: AttendanceMeasure | OffendingMeasure | EmploymentMeasure | HealthMeasure
    if kind == "attendance":
        term = rng.choice(recent_terms(day))
        absent = rng.randrange(0, term.sessions // 3 + 1) if rng.random() < 0.3 else rng.randrange(0, 6)
        measure = AttendanceMeasure(academic_year=term.academic_year, term=term.term,
                                    term_starts_on=term.starts_on, sessions_possible=term.sessions,
                                    unauthorised_absences=min(absent, term.sessions),
                                    fixed_term_exclusions=int(rng.random() < 0.1))
    elif kind == "offending":
        person = rng.choice(f.children + f.adults)
        is_child = person in f.children
        measure = OffendingMeasure(occurred_on=day - timedelta(days=rng.randrange(0, 30)),
                                   kind=rng.choice(list(OffenceKind)), youth=is_child)
    elif kind == "employment":
        person = rng.choice(f.adults)
        is_child = False
        workless = rng.random() < 0.6
        measure = EmploymentMeasure(status=EmploymentStatus.UNEMPLOYED if workless else EmploymentStatus.EMPLOYED,
                                    out_of_work_benefit=workless, starts_on=day - timedelta(days=rng.randrange(0, 90)))
    else:
        person = rng.choice(f.children + f.adults)
        is_child = person in f.children
        measure = HealthMeasure(category=rng.choice(list(HealthNeed)), identified_on=day)
    fact_id = _id(rng)
    f.add(fact_at, CONTACTS_PARTNER_FACT_MATCHED.name, f.family_id, PartnerFactMatched(
        fact_id=fact_id, person_id=person, family_id=f.family_id, is_child=is_child, person_created=False,
        matched_at=fact_at, measure=measure))


def family_events(rng: random.Random, now: datetime) -> list[tuple[datetime, str, str, EventData]]:
    """One family's year: its contacts and decisions, its partner facts, its cases; in time order."""
    f = _Family(rng, now, _id(rng), children=[_id(rng) for _ in range(rng.choice((1, 1, 2, 3)))],
                adults=[_id(rng) for _ in range(rng.choice((1, 1, 2)))])
    start = now - timedelta(days=rng.uniform(1, 360))
    received = start
    for _ in range(rng.choice((1, 1, 1, 2, 3))):
        if received > now:
            break
        _contact(f, received)
        received += timedelta(days=rng.uniform(20, 120))
    for _ in range(rng.choice((0, 1, 2, 3, 4, 6))):
        _fact(f, now - timedelta(days=rng.uniform(0, 360)))
    f.events.sort(key=lambda e: e[0])
    return f.events


def synthetic_events(count: int, seed: int = 2024, now: datetime | None = None) -> Iterator[tuple[str, bytes, bytes]]:
    """`count` (topic, key, CloudEvent JSON) records, a thousand families at a time in time order."""
    rng = random.Random(f"outcomes-rebuild:{seed}")
    now = now or datetime.now(UTC)
    made = 0
    while made < count:
        chunk = [event for _ in range(CHUNK_FAMILIES) for event in family_events(rng, now)]
        chunk.sort(key=lambda e: e[0])
        for at, topic, key, data in chunk[:count - made]:
            source = SOURCES["allocation" if topic.startswith("allocation.") else "contacts"]
            event = new_event(data, source=source, subject=key, time=at, event_id=str(_id(rng)))
            yield topic, key.encode(), event.model_dump_json(exclude_none=True).encode()
        made += min(len(chunk), count - made)


# --- the measurement ------------------------------------------------------------------------------------------------

async def publish(ctx: BenchContext, step: Step) -> tuple[int, dict[str, int], float]:
    count = ctx.sizes.rebuild_events
    by_topic: Counter[str] = Counter()

    def records() -> Iterator[tuple[str, bytes, bytes]]:
        for topic, key, value in synthetic_events(count):
            by_topic[topic] += 1
            yield topic, key, value

    began = time.monotonic()
    sent = await preload_records(ctx.bootstrap, records(), step.update)
    return sent, dict(sorted(by_topic.items())), time.monotonic() - began


def _report_figures(path: Path) -> tuple[int, int, int]:
    report = json.loads(path.read_text())
    return (int(report["contacts"]["total"]), int(report["closures"]["cases"]),
            int(report["families"]["identified"]))


async def measure(ctx: BenchContext) -> RebuildResult:
    count = ctx.sizes.rebuild_events
    step = ctx.progress.step("outcomes rebuild: publishing events", count)
    # what the earlier parts left on the topics the rebuild reads goes first: it rebuilds these events alone
    cleared = await truncate(ctx.bootstrap, [spec.name for spec in topics_consumed_by("outcomes")])
    sent, by_topic, publish_seconds = await publish(ctx, step)
    if sent != count:
        raise RebuildError(f"the broker acknowledged {sent:,} of {count:,} events")
    step = ctx.progress.step("outcomes rebuild: frontdoor-outcomes", 1)
    step.update(0, f"rebuilding {count:,} records")
    into, report = ctx.workdir / "outcomes-rebuilt.db", ctx.workdir / "outcomes-rebuild-report.json"
    # the "live" database it refuses to rebuild into: never made (no service runs here)
    env = {**os.environ, **ServiceSpec("outcomes", 0).environment(ctx.bootstrap, ctx.workdir / "outcomes-live")}
    command = [sys.executable, "-c", USAGE_PARENT, executable("frontdoor-outcomes"), "rebuild", "--into",
               f"sqlite:///{into}", "--report", str(report), "--quiet"]
    began = time.monotonic()
    output = await run_bounded(command, 300 + count / 500, RebuildError, "frontdoor-outcomes rebuild", env)
    seconds = time.monotonic() - began
    found = SUMMARY.search(output)
    if found is None:
        raise RebuildError(f"frontdoor-outcomes rebuild printed no summary:\n{output[-1000:]}")
    families, records, read_seconds, apply_seconds = (int(found[1]), int(found[2]), float(found[3]),
                                                      float(found[4]))
    contacts, closures, identified = _report_figures(report)
    usage = USAGE.search(output)
    result = RebuildResult(events=sent, by_topic=by_topic, publish_seconds=publish_seconds, records=records,
                           families=families, seconds=seconds, read_seconds=read_seconds,
                           apply_seconds=apply_seconds, report_contacts=contacts, report_closures=closures,
                           report_identified=identified, cleared=cleared,
                           peak_rss_bytes=int(usage[1]) * 1024 if usage else None,
                           cpu_seconds=float(usage[2]) if usage else None)
    resident = (f"peak resident {result.peak_rss_mb:,.0f} MB, CPU {result.cpu_seconds:,.0f} s; "
                if result.peak_rss_mb is not None and result.cpu_seconds is not None else "")
    ctx.progress.done(f"outcomes rebuild {result.per_second:,.0f} records/s ({records:,} records in "
                      f"{seconds:,.1f} s; {resident}1M extrapolated {result.extrapolated_seconds / 60:,.1f} min)")
    return result
