"""What every bench phase is handed: the broker, the scratch directory, the
payloads and their files, the sizes and bounds, and the progress display."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from .payloads import Contact

T = TypeVar("T")


@dataclass(frozen=True)
class Sizes:
    contacts: int  # contacts for the Kafka paths (tools, bare loop, contacts intake)
    decisions: int  # Early Help decisions for allocation
    duration: float  # seconds of each HTTP load
    time_cap: float  # longest wait for a project phase's output
    rate: float = 500.0  # fixed rate for the p99 measurement, requests/s
    connections: int = 64
    da_rate: float = 200.0  # background non-DA contacts/s while DA contacts go to schools' webhooks
    da_duration: float = 30.0  # seconds of that load
    da_probe_rate: float = 5.0  # DA contacts/s measured beside it
    rebuild_events: int = 100_000  # synthetic events on the outcomes topics for `frontdoor-outcomes rebuild`


@dataclass
class BenchContext:
    bootstrap: str
    workdir: Path
    sizes: Sizes
    contacts: list[Contact]
    events_file: Path  # one ContactSubmitted CloudEvent per line
    bodies_file: Path  # one POST /v1/contacts body per line
    body_file: Path  # one more contact's body, not among `contacts`: hey sends it every time
    body_received_at: str  # its `received_at`, which tells hey's contacts from wrk's once recorded
    progress: BenchProgress

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"


class Step:
    def __init__(self, progress: Progress, task: TaskID):
        self._progress = progress
        self._task = task

    def update(self, completed: float, note: str | None = None) -> None:
        """Move the bar; a note, when given, stays until the next one."""
        if note is None:
            self._progress.update(self._task, completed=completed)
        else:
            self._progress.update(self._task, completed=completed, note=note)


class BenchProgress:
    """A rich progress bar per step, plus one line per finished step."""

    def __init__(self, steps: int, console: Console | None = None):
        self.console = console or Console()
        self._progress = Progress(
            TextColumn("{task.description:<34}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            TextColumn("{task.fields[note]}"), console=self.console, transient=False,
        )
        self._overall = self._progress.add_task("bench", total=steps, note="")
        self._current: TaskID | None = None

    def __enter__(self) -> BenchProgress:
        self._progress.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._progress.stop()

    def step(self, description: str, total: float) -> Step:
        self._finish_current()
        self._current = self._progress.add_task(description, total=total, note="")
        return Step(self._progress, self._current)

    def say(self, text: str) -> None:
        self._progress.console.print(text)

    def done(self, summary: str) -> None:
        self._finish_current()
        self._progress.advance(self._overall)
        self.say(f"  [green]✓[/green] {summary}")

    def _finish_current(self) -> None:
        if self._current is not None:
            self._progress.update(self._current, visible=False)
            self._current = None


async def with_clock(step: Step, start: float, load: Coroutine[Any, Any, T]) -> T:
    """Await a timed load, moving the step's bar with the seconds elapsed."""
    task = asyncio.ensure_future(load)
    began = time.monotonic()
    while not task.done():
        await asyncio.wait([task], timeout=0.5)
        step.update(start + time.monotonic() - began)
    return task.result()
