"""The live KPI report of the simulated year (the outcomes service's
`GET /v1/kpis` JSON for the year's period) beside the seeds' figures, each
with the difference. The seeds' figures come from parameters.json where it
holds them (contacts a year, the closure split per child, the returns after
closure) and otherwise from the seed the issue names (`SEED_FIGURES`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from frontdoor_contracts.vocabulary import ClosureOutcome

from .calendar import LONDON
from .parameters import Parameters

# Seed figures that are not parameters of the generator (what they are, the seed and where).
STATUTORY_SEED = 0.20  # S000: "under 20% met the threshold for statutory intervention" (an upper bound)
RE_REFERRAL_SEED = 0.223  # S002: re-referrals per child, England 22.3% (statistical neighbours 20.8%)
WITHIN_TARGET_SEED = 1.0  # S001: "every family from SPA to offer within 10 days"


@dataclass(frozen=True)
class Row:
    label: str
    live: float | None  # a share (0-1) or a count
    seed: float | None
    count: bool = False  # a count, not a share
    note: str = ""  # how the seed's figure reads ("under", "above")

    @property
    def difference(self) -> float | None:
        if self.live is None or self.seed is None:
            return None
        return self.live - self.seed

    def cells(self) -> tuple[str, str, str]:
        def show(value: float | None) -> str:
            if value is None:
                return "-"
            return f"{value:,.0f}" if self.count else f"{value * 100:.1f}%"

        seed = f"{self.note} {show(self.seed)}".strip() if self.seed is not None else self.note or "-"
        diff = self.difference
        if diff is None:
            return show(self.live), seed, "-"
        return show(self.live), seed, (f"{diff:+,.0f}" if self.count else f"{diff * 100:+.1f} pts")


def _local(instant: str) -> datetime:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(LONDON)


def _value(figure: Mapping[str, Any] | None) -> float | None:
    if not figure:
        return None
    value = figure.get("value")
    return float(value) if value is not None else None


def rows(report: Mapping[str, Any], params: Parameters) -> list[Row]:
    """The table's rows: the report's figures and the seeds' beside them."""
    closures = report["closures"]["by_category"]
    per_child = params.split("closure_per_child_seed")
    closed = report["closed_cases"]
    found = [
        Row("contacts", float(report["contacts"]["total"]), float(params["contacts_per_year"]), count=True),
        Row("statutory threshold (of decisions)", _value(report["decisions"]["statutory_threshold"]),
            STATUTORY_SEED, note="under"),
        Row("re-referrals (per child)", _value(report["re_referrals"]["rate"]), RE_REFERRAL_SEED),
        Row("SPA to offer within target", _value(report["spa_to_offer"]["within_target"]), WITHIN_TARGET_SEED),
        Row("offers made", float(report["spa_to_offer"]["offers"]), None, count=True),
    ]
    found += [Row(f"closures: {outcome.value.replace('_', ' ')}", _value(closures.get(outcome.value)),
                  per_child.get(outcome.value)) for outcome in ClosureOutcome]
    found += [
        Row("closed cases not re-referred to Early Help", _value(closed["not_re_referred_to_early_help"]),
            1 - params.share("back_to_early_help_after_closure")),
        Row("closed cases not re-referred to social care", _value(closed["not_re_referred_to_social_care"]),
            1 - params.share("back_to_social_care_after_closure")),
        Row("closed cases whose 12 months are not over", float(closed["not_yet_known"]), None, count=True),
        Row("families with sustained outcomes", float(report["families"]["sustained"]), None, count=True,
            note="above 0"),
    ]
    return found


def table(report: Mapping[str, Any], params: Parameters) -> str:
    """The rows as a plain text table (no personal data: the report holds none)."""
    header = ("figure", "live", "seeds", "difference")
    body = [(row.label, *row.cells()) for row in rows(report, params)]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(4)]
    start, end, made = (_local(report[k]) for k in ("period_start", "period_end", "generated_at"))
    lines = [f"The simulated year from {start:%Y-%m-%d} to {end:%Y-%m-%d} (exclusive), as the live KPI report "
             f"gives it at business time {made:%Y-%m-%d %H:%M} (Europe/London):", ""]
    for line in [header, *body]:
        lines.append("  " + "  ".join([line[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(line[1:], widths[1:],
                                                                                            strict=True))]))
    return "\n".join(lines) + "\n"
