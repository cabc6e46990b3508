"""`frontdoor-stack year`: the seeds' year played on its own local stack.

Every service is started on one simulated clock (frontdoor_platform.clock:
FRONTDOOR_CLOCK_START / _SPEED / _SINCE, the same for all), with the
parameters' `platform` settings and short timers; the clock reaches the
year's start `lead` wall seconds after the stack starts starting (time for
the broker, the services, the keys), and runs at `speed` (by default the year
and its follow-up in `minutes` on the wall). The player (player.py) makes the
generated events at their business instants; at the end of the follow-up the
live KPI report of the year's period is read from the outcomes service until
the services have caught up (two reads alike) and set beside the seeds'.

The stack lives in its own run directory (`<run dir>/year`, emptied first:
the report is of this year alone)."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from frontdoor_platform.clock import SimulatedClock
from frontdoor_platform.kafka_security import PLAINTEXT

from ..demo import SCHOOL_URNS
from ..kafka_clients import Producers
from ..services import timer_env
from ..stack import LocalStack, StackError, key_with_role, running_pid
from .calendar import local_date
from .events import Publish, YearEvent
from .finding import CaseFinder, FactIndex
from .generator import generate, year_end
from .pacing import DEFAULT_MINUTES, Lateness, Pacer, speed_for
from .parameters import Parameters, load
from .player import Player, Services, Tally
from .progress import progress_for
from .report import table

Say = Callable[[str], None]
READY_TIMEOUT = 90.0


@dataclass(frozen=True)
class YearOptions:
    seed: int = 1
    speed: float | None = None  # business seconds per wall second; None: from `minutes`
    minutes: float = DEFAULT_MINUTES
    start: datetime | None = None  # None: the parameters' start
    months: int = 12
    follow_up_months: int | None = None  # None: the parameters' (12)
    report_file: Path | None = None
    lead: float = 90.0  # wall seconds from starting the stack to the year's first instant
    timer_seconds: float = 0.2  # the services' timers (wall seconds)
    patience: float = 10.0  # wall seconds the player looks for a case or notification not there yet


@dataclass
class Plan:
    params: Parameters
    start: datetime
    end: datetime  # the year's end (the report's period is [start, end))
    horizon: datetime  # the follow-up's end
    follow_up_months: int
    speed: float

    @classmethod
    def of(cls, options: YearOptions, params: Parameters) -> Plan:
        start = options.start or params.start
        follow = params["follow_up_months"] if options.follow_up_months is None else options.follow_up_months
        end, horizon = year_end(start, options.months), year_end(start, options.months + int(follow))
        return cls(params, start, end, horizon, int(follow),
                   options.speed or speed_for(horizon - start, options.minutes))

    def events(self, options: YearOptions) -> list[YearEvent]:
        return list(generate(self.params, options.seed, self.start, options.months, self.follow_up_months))

    def environment(self, options: YearOptions) -> dict[str, str]:
        """The parameters' `platform` settings, short timers, and a key adult's password link that lasts
        the whole simulation, its lead included (the stack sets each password through one, a few wall seconds
        later: business hours on this clock)."""
        link = int(((self.horizon - self.start).total_seconds() + 2 * options.lead * self.speed) // 60) + 1
        return {**{k: str(v) for k, v in self.params["platform"].items()}, **timer_env(options.timer_seconds),
                "NOTIFICATIONS_PASSWORD_LINK_MINUTES": str(link)}


@dataclass
class Outcome:
    tally: Tally
    lateness: Lateness
    report: dict[str, Any] = field(default_factory=dict)
    wall_seconds: float = 0.0


def fresh_root(root: Path) -> None:
    """Empty the year's run directory (refused while something of it is still running)."""
    running = [name for name in ("kafka", "contacts", "allocation", "notifications", "outcomes")
               if running_pid(root, name)]
    if running:
        raise StackError(f"a year's stack is still running in {root} ({', '.join(running)}): "
                         f"`frontdoor-stack --run-dir {root} down` stops it")
    shutil.rmtree(root, ignore_errors=True)


def wait_ready(stack: LocalStack, timeout: float = READY_TIMEOUT) -> None:
    """Until every service's /readyz is 200 (its consumer joined, its relay publishes)."""
    deadline = time.monotonic() + timeout
    for spec in stack.services:
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{spec.port}/readyz", timeout=2.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise StackError(f"{spec.name} was not ready within {timeout:.0f}s")
            time.sleep(0.2)


def school_keys(stack: LocalStack, urns: tuple[str, ...] = SCHOOL_URNS) -> dict[str, str]:
    """A school-scoped notifications key for each demo school (its key adult's inbox)."""
    notifications = next(p for p in stack.processes if p.spec.name == "notifications")
    stamp = f"{time.time():.0f}"
    with ThreadPoolExecutor(max_workers=4) as pool:
        keys = pool.map(lambda urn: notifications.create_client(f"year-{stamp}-school-{urn}", "school", scope=urn),
                        urns)
        return dict(zip(urns, keys, strict=True))


def _url(stack: LocalStack, name: str) -> str:
    return next(f"http://127.0.0.1:{s.port}" for s in stack.services if s.name == name)


def _key(stack: LocalStack, service: str, role: str) -> str:
    key = key_with_role(stack.credentials, service, role)
    if key is None:
        raise StackError(f"the stack made no {service} key with the {role} role")
    return key


def _client(stack: LocalStack, service: str, key: str, timeout: float = 30.0) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=_url(stack, service), headers={"Authorization": f"Bearer {key}"},
                             timeout=timeout)


async def play(stack: LocalStack, clock: SimulatedClock, events: list[YearEvent], options: YearOptions,
               on_event: Callable[[Tally], None], schools: dict[str, str]) -> tuple[Tally, Lateness]:
    """The events on the stack, each at its instant on `clock`."""
    access = stack.access
    facts = FactIndex(stack.bootstrap, access.admin if access is not None else PLAINTEXT)
    facts.start()
    producers = Producers(stack.bootstrap, access)
    for topic in sorted({e.topic for e in events if isinstance(e, Publish)}):
        await producers.producer_for(topic)  # started before the year: a producer takes a second to start
    inboxes = {urn: _client(stack, "notifications", key) for urn, key in schools.items()}
    async with _client(stack, "allocation", _key(stack, "allocation", "coordinator")) as allocation, \
            _client(stack, "contacts", _key(stack, "contacts", "read")) as contacts:
        services = Services(producers, CaseFinder(allocation, contacts, facts), allocation, inboxes.get,
                            patience=options.patience)
        pacer = Pacer(clock)
        try:
            tally = await Player(pacer, services, on_event).play(events)
        finally:
            await producers.stop()
            await facts.stop()
            for inbox in inboxes.values():
                await inbox.aclose()
    return tally, pacer.lateness


def _settled(report: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in report.items() if k != "generated_at"}


async def settled_report(stack: LocalStack, plan: Plan, clock: SimulatedClock, wait: float = 180.0,
                         every: float = 5.0, alike: int = 3) -> dict[str, Any]:
    """The KPI report of [start, end) once the follow-up is over and `alike` reads `every` seconds apart agree
    (the services consume what is left meanwhile); after `wait` seconds, the last read."""
    await Pacer(clock).until_then(plan.horizon)
    params = {"start": plan.start.isoformat(), "end": plan.end.isoformat()}
    reads: list[dict[str, Any]] = []
    until = time.monotonic() + wait
    async with _client(stack, "outcomes", _key(stack, "outcomes", "manager")) as outcomes:
        while True:
            response = await outcomes.get("/v1/kpis", params=params)
            response.raise_for_status()
            reads = [*reads[-(alike - 1):], response.json()] if alike > 1 else [response.json()]
            same = len(reads) == alike and all(_settled(r) == _settled(reads[0]) for r in reads)
            if same or time.monotonic() > until:
                return reads[-1]
            await asyncio.sleep(every)


def year_stack(root: Path, plan: Plan, options: YearOptions, secured: bool = False,
               **where: Any) -> tuple[LocalStack, SimulatedClock]:
    """A stack (not started) in a fresh `root` whose services all run on the year's simulated clock; `where`
    gives LocalStack its ports (tests: free ones)."""
    fresh_root(root)
    clock = SimulatedClock(plan.start, plan.speed, since=time.time() + options.lead)
    return LocalStack(root=root, secured=secured, clock=clock, extra_env=plan.environment(options), **where), clock


def played(stack: LocalStack, clock: SimulatedClock, plan: Plan, events: list[YearEvent], options: YearOptions,
           say: Say = print, on_ready: Callable[[], None] | None = None) -> Outcome:
    """Start `stack`, play `events` on it, and read the report at the follow-up's end (the stack left running);
    `on_ready` is called once the services are ready, before the year starts."""
    started = time.monotonic()
    stack.start(say)
    wait_ready(stack)
    if on_ready is not None:
        on_ready()
    schools = school_keys(stack)
    early = clock.wall_seconds(plan.start - clock())
    say(f"the stack is ready {early:.0f}s of wall time before the year starts" if early >= 0 else
        f"the stack was ready {-early:.0f}s of wall time after the year started (its first events are late)")
    with progress_for(plan.start, plan.horizon) as on_event:
        tally, lateness = asyncio.run(play(stack, clock, events, options, on_event, schools))
    say("the follow-up is being played out; reading the KPI report once the services have caught up...")
    report = asyncio.run(settled_report(stack, plan, clock))
    return Outcome(tally, lateness, report, time.monotonic() - started)


def run_year(root: Path, options: YearOptions, say: Say = print, secured: bool = False) -> Outcome:
    """The whole: a fresh stack on the simulated clock, the year played, its report read; the stack stopped."""
    started = time.monotonic()
    plan = Plan.of(options, load())
    events = plan.events(options)
    stack, clock = year_stack(root, plan, options, secured)
    say(f"the year from {local_date(plan.start)} to {local_date(plan.end)} (exclusive) and its follow-up to "
        f"{local_date(plan.horizon)}: "
        f"{len(events)} events at {plan.speed:,.0f}x (a business day every {86400 / plan.speed:.1f}s of wall time), "
        f"from {options.lead:.0f}s after the stack starts starting")
    try:
        outcome = played(stack, clock, plan, events, options, say)
    finally:
        stack.stop()
    outcome.wall_seconds = time.monotonic() - started
    say(table(outcome.report, plan.params))
    say("\n".join(outcome.tally.lines()))
    say(outcome.lateness.line())
    say(f"wall time: {outcome.wall_seconds / 60:.1f} minutes (the stack's start included)")
    if options.report_file is not None:
        options.report_file.write_text(json.dumps(outcome.report, indent=2) + "\n")
        say(f"the report's JSON: {options.report_file}")
    return outcome


def run_visible(root: Path, options: YearOptions, say: Say = print, secured: bool = False) -> Outcome:
    """`make run`: the year on a stack with its monitoring (Prometheus and Alertmanager, when installed) at a
    pace a person can watch (`options.speed`: a business day every few wall seconds), so that the board, the
    dashboards and the alerts move; then its report, and the stack kept running until Ctrl-C."""
    plan = Plan.of(options, load())
    events = plan.events(options)
    stack, clock = year_stack(root, plan, options, secured, monitoring=True)
    say(f"playing the seeds' year from {local_date(plan.start)} (and its follow-up to {local_date(plan.horizon)}) "
        f"on a simulated clock: a business day every {86400 / plan.speed:.0f}s of wall time, so the board, the "
        f"dashboards and the alerts move as you watch ({(plan.horizon - plan.start).days * 86400 / plan.speed / 60:.0f}"
        f" minutes in all; `frontdoor-stack year` plays it in about {DEFAULT_MINUTES:.0f}); Ctrl-C stops everything")
    try:
        outcome = played(stack, clock, plan, events, options, say, on_ready=lambda: say(stack.summary()))
        say(table(outcome.report, plan.params))
        say("the year is over; the stack keeps running (its clock too); Ctrl-C stops everything")
        while True:
            time.sleep(3600)
    finally:
        stack.stop()
