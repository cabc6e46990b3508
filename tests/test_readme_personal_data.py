"""The root README's "Personal data" table says what the retention schedule says: a row per class, its
period, and whether an erasure request keeps it."""

from __future__ import annotations

from pathlib import Path

from frontdoor_contracts.retention import default

README = Path(__file__).parents[1] / "README.md"


def rows() -> dict[str, list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Personal data\n"):]
    table = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| class")]
    return {cells[0].lower(): cells for cells in ([c.strip() for c in line.strip("|").split("|")] for line in table)}


def test_every_class_has_a_row_with_its_period_and_what_erasure_does() -> None:
    found = rows()
    schedule = default()
    assert len(found) == len(schedule.classes)
    for name, kept in schedule.classes.items():
        [row] = [cells for first, cells in found.items() if first.startswith(name.replace("_", " "))]
        period = row[2]
        years = kept.days / 365.25
        assert f"{kept.days} days" in period or (abs(years - round(years)) < 0.01 and f"{round(years)} years" in period)
        assert row[3].startswith("kept") == (kept.on_request == "keep"), name
