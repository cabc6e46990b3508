"""The year's report table: each live figure from the KPI report's JSON beside
the seeds' (parameters.json where it holds them), with the difference in
points for shares and in units for counts; a figure the report cannot give
(no denominator) shows as such, not as zero."""

from __future__ import annotations

from typing import Any

from frontdoor_contracts.vocabulary import ClosureOutcome
from frontdoor_stack.year import load
from frontdoor_stack.year.report import RE_REFERRAL_SEED, STATUTORY_SEED, Row, rows, table

PARAMS = load()


def figure(numerator: int, denominator: int) -> dict[str, Any]:
    return {"numerator": numerator, "denominator": denominator,
            "value": numerator / denominator if denominator else None}


def report() -> dict[str, Any]:
    return {
        "period_start": "2026-08-31T23:00:00Z", "period_end": "2027-08-31T23:00:00Z",
        "generated_at": "2028-09-01T10:00:00Z",
        "contacts": {"total": 11_870},
        "decisions": {"statutory_threshold": figure(1_900, 11_000)},
        "re_referrals": {"rate": figure(430, 2_000)},
        "spa_to_offer": {"offers": 5_000, "within_target": figure(4_600, 5_000)},
        "closures": {"by_category": {o.value: figure(n, 1_000) for o, n in zip(
            ClosureOutcome, (600, 105, 70, 200, 50, 30), strict=True)}},
        "closed_cases": {"not_yet_known": 0, "not_re_referred_to_early_help": figure(965, 1_000),
                         "not_re_referred_to_social_care": figure(0, 0)},
        "families": {"sustained": 140},
    }


def by_label() -> dict[str, Row]:
    return {row.label: row for row in rows(report(), PARAMS)}


def test_counts_beside_the_seeds_with_their_difference() -> None:
    contacts = by_label()["contacts"]
    assert contacts.seed == PARAMS["contacts_per_year"] == 12_000
    assert contacts.cells() == ("11,870", "12,000", "-130")


def test_shares_in_percent_with_the_difference_in_points() -> None:
    found = by_label()
    assert found["statutory threshold (of decisions)"].cells() == ("17.3%", f"under {STATUTORY_SEED:.1%}", "-2.7 pts")
    assert found["re-referrals (per child)"].seed == RE_REFERRAL_SEED
    assert found["re-referrals (per child)"].cells() == ("21.5%", "22.3%", "-0.8 pts")
    assert found["closures: positive outcome"].cells() == ("60.0%", "61.0%", "-1.0 pts")
    assert found["closures: no change"].cells() == ("10.5%", "10.0%", "+0.5 pts")
    assert found["closed cases not re-referred to Early Help"].cells() == ("96.5%", "96.0%", "+0.5 pts")


def test_a_figure_without_a_denominator_is_shown_as_unknown() -> None:
    row = by_label()["closed cases not re-referred to social care"]
    assert row.live is None and row.difference is None
    assert row.cells() == ("-", "88.0%", "-")


def test_figures_the_seeds_do_not_give_carry_no_difference() -> None:
    sustained = by_label()["families with sustained outcomes"]
    assert sustained.cells() == ("140", "above 0", "-")


def test_the_table_has_every_row_aligned_and_names_the_period() -> None:
    text = table(report(), PARAMS)
    lines = text.splitlines()
    assert lines[0].startswith("The simulated year from 2026-09-01 to 2027-09-01 (exclusive)")  # London dates
    body = [line for line in lines[2:] if line.strip()]
    assert len(body) == 1 + len(rows(report(), PARAMS))
    assert len({len(line) for line in body}) == 1  # right-aligned columns: every line the same width
    assert all(label in text for label in ("contacts", "statutory threshold", "closures: escalated to higher"))
