"""A police DA contact to the school's verified webhook while 32 clients
hammer the schools' sign-in page (`--only da-sign-in-hammer`).

One set of services as the DA part starts them (`da_webhook.rig`: fresh
contacts and notifications services, the demo school system, the bench
schools by webhook), then two measured loads one after the other on them,
each the DA part's (non-DA contacts at --da-rate and DA probes at
--da-probes for --da-duration, then their webhooks): first quiet, then
while 32 clients post bogus sign-ins to the notifications service's
/page/sign-in as fast as they are answered, each from its own loopback
address (127.0.0.2 to 127.0.0.33: nothing leaves the machine), half at the
bench schools' key adults (staff ids `dsl-<URN>`, guessable), half at
random guessable staff ids, every password wrong. The hammer is its own
process (`python -m frontdoor_stack.bench.da_sign_in_hammer`), so that its
clients do not slow this process's sends, which start each latency; it
starts two seconds before the second load and stops once its webhooks are
in (SIGTERM), or after its own time cap; each client sends at most 50,000
requests."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import resource
import signal
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from .context import BenchContext
from .da_load import BENCH_SCHOOLS, DaWebhookResult, Probes, percentile
from .da_webhook import rig, window
from .processes import PythonProcess

CLIENTS = 32
PER_CLIENT = 50_000  # requests at most, whatever the duration
HEAD_START = 2.0  # seconds of hammering before the measured load starts
FORM_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class HammerResult:
    quiet: DaWebhookResult  # the same services, just before, without the hammer
    hammered: DaWebhookResult
    clients: int
    answers: dict[int, int]  # sign-in answers by HTTP status
    errors: int  # requests that got no answer (connection errors, 10 s timeouts)
    seconds: float  # how long the hammer ran
    sign_in_p50_ms: float | None
    sign_in_p99_ms: float | None
    hammer_cpu_seconds: float  # the CPU the clients themselves used (they share the machine)
    api_cpu_seconds: float | None  # the notifications API process's CPU meanwhile (Linux /proc; else None)

    @property
    def per_second(self) -> float:
        return sum(self.answers.values()) / self.seconds if self.seconds else 0.0


@dataclass
class Hammer:
    """`clients` browsers posting bogus sign-ins, each from its own loopback address, until stopped."""

    url: str
    targets: list[str]
    clients: int = CLIENTS
    answers: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    def __post_init__(self) -> None:
        self._stop = asyncio.Event()

    async def _client(self, n: int) -> None:
        rng = random.Random(n)
        transport = httpx.AsyncHTTPTransport(local_address=f"127.0.0.{n + 2}")
        async with httpx.AsyncClient(base_url=self.url, transport=transport, timeout=10) as browser:
            found = FORM_TOKEN.search((await browser.get("/page/sign-in")).text)
            if found is None:
                raise RuntimeError("the sign-in form has no CSRF token")
            for _ in range(PER_CLIENT):
                if self._stop.is_set():
                    return
                staff_id = (self.targets[n % len(self.targets)] if n % 2 == 0
                            else f"dsl-{rng.randrange(100000, 1000000)}")
                began = time.monotonic()
                try:
                    answer = await browser.post("/page/sign-in", data={
                        "staff_id": staff_id, "password": f"guess-{rng.getrandbits(48):012x}",
                        "csrf_token": found.group(1)})
                except httpx.HTTPError:
                    self.errors += 1
                    await asyncio.sleep(0.1)
                    continue
                self.answers[answer.status_code] += 1
                self.latencies.append((time.monotonic() - began) * 1000)

    async def run(self, seconds: float) -> None:
        """Until SIGTERM or `seconds`, whichever comes first."""
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, self._stop.set)
        started = time.monotonic()
        tasks = [asyncio.create_task(self._client(n)) for n in range(self.clients)]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._stop.wait()
        self._stop.set()
        outcomes = await asyncio.gather(*tasks, return_exceptions=True)
        self.seconds = time.monotonic() - started
        failed = [o for o in outcomes if isinstance(o, BaseException)]
        if failed:
            raise RuntimeError(f"{len(failed)} hammer clients failed: {failed[0]!r}")

    def summary(self) -> dict[str, object]:
        used = resource.getrusage(resource.RUSAGE_SELF)
        return {"answers": {str(k): v for k, v in sorted(self.answers.items())}, "errors": self.errors,
                "seconds": self.seconds, "p50_ms": percentile(self.latencies, 0.5),
                "p99_ms": percentile(self.latencies, 0.99), "cpu_seconds": used.ru_utime + used.ru_stime}


def cpu_seconds(pid: int | None) -> float | None:
    """A process's CPU time so far (user + system), from Linux's /proc; None elsewhere or when gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m frontdoor_stack.bench.da_sign_in_hammer",
                                     description="bogus sign-ins to a notifications service, until SIGTERM")
    parser.add_argument("--url", required=True)
    parser.add_argument("--targets", required=True, help="comma-separated staff ids, half the clients aim at")
    parser.add_argument("--clients", type=int, default=CLIENTS)
    parser.add_argument("--seconds", type=float, required=True, help="stop after this long in any case")
    parser.add_argument("--out", type=Path, required=True, help="where the summary goes (JSON)")
    args = parser.parse_args(argv)
    hammer = Hammer(args.url, args.targets.split(","), args.clients)
    asyncio.run(hammer.run(args.seconds))
    args.out.write_text(json.dumps(hammer.summary()))
    return 0


async def measure(ctx: BenchContext, seed: int) -> HammerResult:
    sizes = ctx.sizes
    step = ctx.progress.step("DA → webhook, sign-in hammered", 4)
    summary = ctx.workdir / "sign-in-hammer.json"
    async with rig(ctx, seed, step, name="da-sign-in-hammer", windows=2) as started:
        step.update(2.5, f"quiet: {sizes.da_rate:g} contacts/s + {sizes.da_probe_rate:g} DA/s for "
                         f"{sizes.da_duration:g} s")
        quiet = await window(started, Probes(first=10_000))
        step.update(3, f"the same with {CLIENTS} clients hammering /page/sign-in")
        hammer = PythonProcess(__name__, [
            "--url", started.notifications.url, "--targets", ",".join(f"dsl-{urn}" for urn in BENCH_SCHOOLS),
            "--seconds", str(HEAD_START + sizes.da_duration + sizes.time_cap + 30), "--out", str(summary)],
            ctx.logs / "sign-in-hammer.log")
        api = started.notifications.process.pid if started.notifications.process else None
        api_before = cpu_seconds(api)
        try:
            await asyncio.sleep(HEAD_START)
            if not hammer.running():
                raise RuntimeError(f"the sign-in hammer exited early: see {hammer.log_file}")
            hammered = await window(started, Probes(first=20_000), offset=quiet.background)
        finally:
            await asyncio.to_thread(hammer.stop)
        api_after = cpu_seconds(api)
    if not summary.is_file():
        raise RuntimeError(f"the sign-in hammer wrote no summary: see {hammer.log_file}")
    figures = json.loads(summary.read_text())
    result = HammerResult(quiet, hammered, CLIENTS, {int(k): v for k, v in figures["answers"].items()},
                          figures["errors"], figures["seconds"], figures["p50_ms"], figures["p99_ms"],
                          figures["cpu_seconds"],
                          None if api_before is None or api_after is None else api_after - api_before)
    ctx.progress.done(f"DA contact → verified webhook while {CLIENTS} clients hammer the sign-in page: p50 "
                      f"{hammered.p50_ms or 0:,.1f} ms, p99 {hammered.p99_ms or 0:,.1f} ms (quiet: p50 "
                      f"{quiet.p50_ms or 0:,.1f} ms, p99 {quiet.p99_ms or 0:,.1f} ms); sign-in answers "
                      f"{result.answers} at {result.per_second:,.0f}/s")
    return result


if __name__ == "__main__":
    sys.exit(main())
