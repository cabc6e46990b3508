"""The year's progress in business time: a rich bar on a terminal (the
business date, how far through the year and its follow-up, the player's
counts), plain lines otherwise (one a business month). Counts and business
dates only: nothing about a family."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from datetime import datetime

from .calendar import local_date
from .player import Tally

OnEvent = Callable[[Tally], None]


def fraction(start: datetime, horizon: datetime, now: datetime | None) -> float:
    """How far `now` is from `start` to `horizon`, 0 to 1."""
    if now is None:
        return 0.0
    whole = (horizon - start).total_seconds()
    return min(1.0, max(0.0, (now - start).total_seconds() / whole)) if whole > 0 else 1.0


class Lines:
    """Plain progress: a line at the first event of each business month."""

    def __init__(self, say: Callable[[str], None] = print):
        self.say, self.month = say, ""

    def __call__(self, tally: Tally) -> None:
        if tally.business_now is None:
            return
        month = f"{local_date(tally.business_now):%Y-%m}"
        if month != self.month:
            self.month = month
            self.say(f"year: business {local_date(tally.business_now):%Y-%m-%d}: {tally.short()}")


@contextlib.contextmanager
def progress_for(start: datetime, horizon: datetime) -> Iterator[OnEvent]:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

    console = Console()
    if not console.is_terminal:
        yield Lines(lambda line: print(line, flush=True))
        return
    days = max(1, (local_date(horizon) - local_date(start)).days)
    columns = (TextColumn("business {task.fields[day]}"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.fields[counts]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("year", total=days, day=f"{local_date(start):%Y-%m-%d}", counts="")

        def update(tally: Tally) -> None:
            if tally.business_now is not None:
                progress.update(task, completed=fraction(start, horizon, tally.business_now) * days,
                                day=f"{local_date(tally.business_now):%Y-%m-%d}", counts=tally.short())

        yield update
