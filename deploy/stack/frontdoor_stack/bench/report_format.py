"""How the bench's report writes a figure (a number, milliseconds, a share) and a markdown table;
'–' where there is nothing to show."""

from __future__ import annotations

from collections.abc import Sequence


def number(value: float | None, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def millis(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def percent(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "–"
    return f"{numerator / denominator:.1%}"


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return lines
