"""The contacts and allocation flows again with two `consume` workers per
service in one consumer group on PostgreSQL (Debian's server, `postgres`,
started for the part), beside the same run's one worker on SQLite.

Each service runs as `serve` (its API and the one `consume` child it
starts) plus a second `frontdoor-<service> consume` with the same settings:
two consumers sharing the input topic's three partitions, one database; the
schema migrated once before either starts. The flow's input and output
topics are emptied first (delete-records) and the group starts at the end of
every other topic the service reads; once both workers hold their partitions
in a settled group (no rebalance to come), the same N contacts, or N fresh
decisions, are pre-loaded again and the flow measured as its SQLite line:
first to last output record, counted by event id and contact id."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from frontdoor_contracts.topics import ALLOCATION_CASE_OPENED, CONTACTS_DECIDED, CONTACTS_RECORDED, FRONTDOOR_CONTACTS

from .. import processes
from ..ports import free_port
from ..postgres import PostgresServer
from ..services import executable, terminate
from .allocation import early_help_decisions, opened_contact_id
from .contacts_kafka import recorded_contact_id
from .context import BenchContext
from .da_load import consumed_by
from .kafka_io import FlowResult, Select, collect, move_group_to_end, preload, truncate
from .processes import BenchService

WORKERS = 2
NAME = "two-workers-postgresql"
TOPICS = {"contacts": (FRONTDOOR_CONTACTS.name, CONTACTS_RECORDED.name),
          "allocation": (CONTACTS_DECIDED.name, ALLOCATION_CASE_OPENED.name)}  # each service's input and output


class Workers(BenchService):
    """`serve` (with its own `consume` child) and WORKERS - 1 more `consume` processes, on one database."""

    def __init__(self, name: str, bootstrap: str, workdir: Path, extra_env: dict[str, str]) -> None:
        super().__init__(name, bootstrap, workdir, extra_env)
        self.more: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        self.run_command("migrate")  # once, before several processes would each try
        super().start()
        for i in range(WORKERS - 1):
            log_file = self.log_file.with_name(f"{self.spec.name}-consume-{i + 2}.log")
            self.more.append(processes.start([executable(self.spec.command), "consume"], self.env(), log_file))

    def pids(self) -> list[int]:
        """`serve`, the children it started and the other workers."""
        serve = [self.process.pid] if self.process is not None else []
        children = [int(stat.parent.name) for stat in Path("/proc").glob("[0-9]*/stat")
                    if _parent(_read(stat)) in serve]
        return [*serve, *children, *(process.pid for process in self.more)]

    def cpu_seconds(self) -> float:
        """CPU time (user and system) all of them have used so far."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            fields = _read(Path(f"/proc/{pid}/stat")).rpartition(")")[2].split()
            total += int(fields[11]) + int(fields[12]) if len(fields) > 12 else 0  # utime, stime
        return total / ticks

    def stop(self, timeout: float = 15.0) -> None:
        more, self.more = self.more, []
        for process in more:
            terminate(process.pid, timeout)
            process.poll()
        super().stop(timeout)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _parent(stat: str) -> int | None:
    """The parent pid in a /proc/<pid>/stat line (after the command's closing parenthesis: state, ppid)."""
    fields = stat.rpartition(")")[2].split()
    return int(fields[1]) if len(fields) > 1 else None


async def _joined(bootstrap: str, group: str, members: int, timeout: float = 90.0) -> None:
    """Until `group` is stable with `members` members (every worker has its partitions: no rebalance to come)."""
    deadline = time.monotonic() + timeout
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, client_id="bench-group")
        await admin.start()
        try:
            found = [(g[2], len(g[5])) for response in await admin.describe_consumer_groups([group])
                     for g in response.groups]
        finally:
            await admin.close()
        if found == [("Stable", members)]:
            return
        if time.monotonic() >= deadline:
            raise RuntimeError(f"the {members} workers of {group} did not settle in one group within {timeout:.0f}s")
        await asyncio.sleep(0.5)


async def _flow(ctx: BenchContext, server: PostgresServer, service: str, records: list[tuple[bytes, bytes]],
                expected: set[str], select: Select) -> tuple[FlowResult, float]:
    """One service's flow: its topics emptied, WORKERS workers started and settled in their group, then the
    records pre-loaded and the output counted from first to last record; with the CPU seconds the service's
    processes used meanwhile."""
    entry, output = TOPICS[service]
    count, cap, label = len(records), ctx.sizes.time_cap, f"{service}, {WORKERS} workers on PostgreSQL"
    step = ctx.progress.step(f"{label}: starting", count)
    group = f"bench-{service}-{NAME}"
    database = await asyncio.to_thread(server.create_database, f"bench_{service}")
    await truncate(ctx.bootstrap, TOPICS[service])
    await move_group_to_end(ctx.bootstrap, group, [t for t in consumed_by(service) if t != entry])
    prefix = service.upper()
    workers = Workers(service, ctx.bootstrap, ctx.workdir / NAME, {f"{prefix}_CONSUMER_GROUP": group,
                                                                   f"{prefix}_DATABASE_URL": database})
    try:
        await asyncio.to_thread(workers.start)
        await asyncio.to_thread(workers.wait_healthy)
        await _joined(ctx.bootstrap, group, WORKERS)
        cpu = workers.cpu_seconds()
        step.update(0, "pre-loading")
        await preload(ctx.bootstrap, entry, records, step.update)
        step.update(0, f"output (cap {cap:.0f}s)")
        tally, _ = await collect(ctx.bootstrap, output, count, cap, select=select,
                                 on_progress=lambda t: step.update(t.distinct), still_running=workers.running,
                                 partitions=3)
        cpu = workers.cpu_seconds() - cpu
    finally:
        await asyncio.to_thread(workers.stop)
    flow = FlowResult.of(tally, expected, cap)  # the services were up before the records: no "since ready"
    ctx.progress.done(f"{label} {flow.per_second:,.1f}/s ({flow.arrived:,} of {count:,}"
                      + ("" if flow.complete else f" within the {cap:.0f}s cap") + f"; {cpu:,.1f} s of CPU)")
    return flow, cpu


async def measure(ctx: BenchContext) -> tuple[tuple[FlowResult, float], tuple[FlowResult, float]]:
    """(contacts, allocation) with two workers each on PostgreSQL."""
    server = PostgresServer(free_port())
    await asyncio.to_thread(server.start)
    try:
        contacts = await _flow(ctx, server, "contacts", [(c.key, c.value) for c in ctx.contacts],
                               {c.contact_id for c in ctx.contacts}, recorded_contact_id)
        decisions = early_help_decisions(ctx.sizes.decisions)
        cases = await _flow(ctx, server, "allocation", [(key, value) for key, value, _ in decisions],
                            {contact_id for _, _, contact_id in decisions}, opened_contact_id)
    finally:
        await asyncio.to_thread(server.stop)
    return contacts, cases
