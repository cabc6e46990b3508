"""The bench's results as markdown, for deploy/bench/results.md and the
terminal: the run's machine, commit and sizes, every figure
(`report_figures`), each project figure over its anchor from the same run,
the goals met or not (`report_goals`), the 1M rebuild line kept from run to
run, and how it was all measured (`report_method`)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from ..paths import repo_root
from .outcomes_rebuild import ONE_MILLION
from .report_figures import figures, footprint, ratios
from .report_format import number, table
from .report_goals import MET, NOT_MEASURED, NOT_MET, goals
from .report_method import how_measured
from .results import Results

# Importable from here as before (the bench's runner and the tests take them from this module).
__all__ = ["MET", "NOT_MEASURED", "NOT_MET", "ONE_MILLION_LINE", "Results", "figures", "git_commit", "goals",
           "kept_one_million", "markdown", "one_million_line", "ratios", "record_one_million", "results_file",
           "write"]

# The line of results.md that holds the outcomes rebuild measured at 1M events: kept by a run that did not
# measure it (the default bench extrapolates), so a figure measured on its own (or put there by hand) stays.
ONE_MILLION_LINE = "- outcomes rebuild, 1M events measured:"


def results_file() -> Path:
    return repo_root() / "deploy" / "bench" / "results.md"


def git_commit() -> str:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=repo_root(), capture_output=True, text=True,
                              timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD") or "unknown"
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{commit} (with uncommitted changes in the working tree)" if dirty else commit


def one_million_line(r: Results, kept: str | None = None) -> str:
    """This run's 1M measurement, else the one kept from the previous results, else a place for it."""
    o = r.outcomes_rebuild
    if o is not None and o.events >= ONE_MILLION:
        return (f"{ONE_MILLION_LINE} {o.records:,} records rebuilt in {o.seconds:,.0f} s ({o.seconds / 60:,.1f} "
                f"min, {number(o.per_second)} records/s; read {o.read_seconds:,.0f} s, applied {o.apply_seconds:,.0f} "
                f"s{footprint(o)}) on {r.started:%Y-%m-%d} at {git_commit()}, in this run")
    if kept:
        return kept
    return (f"{ONE_MILLION_LINE} … (not yet: `frontdoor-stack bench --only outcomes-rebuild --rebuild-events "
            "1000000` puts its figure here, as may a separate run's by hand)")


def markdown(r: Results, kept_one_million: str | None = None) -> str:
    lines = [
        *_heading(r),
        "## Figures",
        "",
        *table(("what", "figure", "detail"), figures(r)),
        "",
        "## Project over anchor (same run)",
        "",
        *table(("ratio", "value"), ratios(r)),
        "",
        "## Goals",
        "",
        *table(("goal", "this run", "verdict"), goals(r)),
        "",
        "## Outcomes rebuild at 1M events",
        "",
        one_million_line(r, kept_one_million),
        "",
    ]
    if r.failures:
        lines += ["## Steps that failed", ""]
        lines += [f"- {name}: {message}" for name, message in r.failures.items()]
        lines.append("")
    lines += how_measured(r.sizes)
    return "\n".join(lines)


def _heading(r: Results) -> list[str]:
    s = r.sizes
    return [
        "# Front Door benchmark (`make bench`)",
        "",
        f"- date: {r.started:%Y-%m-%d %H:%M} UTC; took {r.seconds / 60:.1f} min",
        f"- git commit: {git_commit()}",
        f"- machine: {os.cpu_count()} cores (`os.cpu_count()`); everything (broker, services, load generators) "
        f"on this one machine, on 127.0.0.1; load average {r.load_before:.2f} before the bench started",
        f"- sizes: {s.contacts:,} contacts on the Kafka paths, {s.decisions:,} decisions, HTTP loads of "
        f"{s.duration:g} s each, DA contacts at {s.da_probe_rate:g}/s for {s.da_duration:g} s beside "
        f"{s.da_rate:g} contacts/s, {s.rebuild_events:,} synthetic events for the outcomes rebuild, "
        f"{s.time_cap:g} s cap on each project wait",
        *([f"- parts run: {', '.join(sorted(r.parts))} (`--only`)"] if r.parts else []),
        "",
    ]


def kept_one_million(path: Path) -> str | None:
    """The 1M rebuild line of the results being replaced, if it has a figure."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    line = next((line for line in lines if line.startswith(ONE_MILLION_LINE)), None)
    return None if line is None or line[len(ONE_MILLION_LINE):].strip().startswith("…") else line


def write(r: Results, path: Path | None = None) -> Path:
    target = path or results_file()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(markdown(r, kept_one_million(target)))
    return target


def record_one_million(r: Results, path: Path | None = None) -> bool:
    """A run that measured the 1M rebuild (`--only outcomes-rebuild
    --rebuild-events 1000000`, written elsewhere) puts that one line into
    the main results, leaving the rest as it is. Whether it did."""
    target = path or results_file()
    o = r.outcomes_rebuild
    if o is None or o.events < ONE_MILLION:
        return False
    try:
        lines = target.read_text().splitlines()
    except OSError:
        return False
    found = [i for i, line in enumerate(lines) if line.startswith(ONE_MILLION_LINE)]
    if not found:
        return False
    lines[found[0]] = one_million_line(r)
    target.write_text("\n".join(lines) + "\n")
    return True
