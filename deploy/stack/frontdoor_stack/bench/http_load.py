"""HTTP load generators: `wrk` (closed loop, 64 connections, `--latency`)
with deploy/bench/post_contacts.lua, and `hey` for a fixed rate (its `-q` is
per worker, so 500 req/s = 50 workers x 10 req/s; each worker has 100 ms per
request before it falls behind). Both are Debian packages."""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import repo_root
from .subprocesses import run_bounded

UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
WRK_PERCENTILE = re.compile(r"^\s*(50|75|90|99)(?:\.0+)?%\s+([\d.]+)(us|ms|s|m|h)\s*$", re.MULTILINE)
WRK_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)
WRK_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)", re.MULTILINE)
WRK_SOCKET = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
WRK_NON2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")
STATUS_LINE = re.compile(r"^bench-status (\d+) (\d+)$", re.MULTILINE)
HEY_RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
HEY_PERCENTILE = re.compile(r"^\s*(50|99)% in ([\d.]+) secs", re.MULTILINE)
HEY_STATUS = re.compile(r"^\s*\[(\d+)\]\s+(\d+) responses", re.MULTILINE)
HEY_ERRORS = re.compile(r"^\s*\[(\d+)\]\s+(.+)$", re.MULTILINE)


class LoadError(RuntimeError):
    pass


def lua_script() -> Path:
    return repo_root() / "deploy" / "bench" / "post_contacts.lua"


def require(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        raise LoadError(f"{tool} is not installed: `apt-get install -y {tool}` (make bench does it)")
    return found


@dataclass
class HttpResult:
    tool: str
    requests: int
    per_second: float
    p50_ms: float | None
    p99_ms: float | None
    non_2xx: int
    timeouts: int
    errors: int = 0  # connect/read/write errors (wrk) or other client errors (hey)
    statuses: dict[int, int] = field(default_factory=dict)
    target_rate: float | None = None


async def _run(command: list[str], timeout: float) -> str:
    return await run_bounded(command, timeout, LoadError, Path(command[0]).name)


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def parse_wrk(output: str) -> HttpResult:
    rate, total = WRK_RATE.search(output), WRK_TOTAL.search(output)
    if rate is None or total is None:
        raise LoadError(f"no wrk summary in its output:\n{output[-2000:]}")
    percentiles = {int(m[1]): _ms(m[2], m[3]) for m in WRK_PERCENTILE.finditer(output)}
    socket = WRK_SOCKET.search(output)
    connect, read, write, timeouts = (int(g) for g in socket.groups()) if socket else (0, 0, 0, 0)
    non_2xx = WRK_NON2XX.search(output)
    return HttpResult(
        tool="wrk", requests=int(total[1]), per_second=float(rate[1]),
        p50_ms=percentiles.get(50), p99_ms=percentiles.get(99),
        non_2xx=int(non_2xx[1]) if non_2xx else 0, timeouts=timeouts, errors=connect + read + write,
        statuses={int(m[1]): int(m[2]) for m in STATUS_LINE.finditer(output)},
    )


async def wrk(url: str, bodies: Path, duration: float, connections: int = 64, threads: int = 2,
              api_key: str | None = None, ids_file: Path | None = None, timeout_s: float = 2.0) -> HttpResult:
    """Closed-loop load for `duration` seconds; the 202s' contact ids go to `ids_file`."""
    command = [require("wrk"), f"-t{threads}", f"-c{connections}", f"-d{int(duration)}s", f"--timeout={timeout_s:g}s",
               "--latency", "-s", str(lua_script()), url, "--", str(bodies), api_key or "-",
               str(ids_file) if ids_file else "-"]
    return parse_wrk(await _run(command, duration + 60))


def parse_hey(output: str, target_rate: float) -> HttpResult:
    rate = HEY_RATE.search(output)
    if rate is None:
        raise LoadError(f"no hey summary in its output:\n{output[-2000:]}")
    percentiles = {int(m[1]): float(m[2]) * 1000.0 for m in HEY_PERCENTILE.finditer(output)}
    statuses: dict[int, int] = {}
    errors = timeouts = 0
    section = ""
    for line in output.splitlines():
        if line.strip().endswith("distribution:"):
            section = line.strip()
            continue
        if section.startswith("Status code"):
            found = HEY_STATUS.match(line)
            if found:
                statuses[int(found[1])] = int(found[2])
        elif section.startswith("Error"):
            found = HEY_ERRORS.match(line)
            if found:
                count = int(found[1])
                if "timeout" in found[2].lower() or "deadline exceeded" in found[2].lower():
                    timeouts += count
                else:
                    errors += count
    ok = sum(count for code, count in statuses.items() if 200 <= code < 300)
    return HttpResult(
        tool="hey", requests=sum(statuses.values()) + errors + timeouts, per_second=float(rate[1]),
        p50_ms=percentiles.get(50), p99_ms=percentiles.get(99), non_2xx=sum(statuses.values()) - ok,
        timeouts=timeouts, errors=errors, statuses=statuses, target_rate=target_rate,
    )


async def hey_fixed_rate(url: str, body: Path, duration: float, rate: float = 500.0, workers: int = 50,
                         api_key: str | None = None, timeout_s: float = 10.0) -> HttpResult:
    """Open-ish loop at `rate` requests/s (workers x rate/workers) for `duration` seconds."""
    command = [require("hey"), "-z", f"{int(duration)}s", "-c", str(workers), "-q", f"{rate / workers:g}",
               "-t", f"{timeout_s:g}", "-m", "POST", "-T", "application/json", "-D", str(body)]
    if api_key:
        command += ["-H", f"Authorization: Bearer {api_key}"]
    return parse_hey(await _run([*command, url], duration + timeout_s + 60), rate)
