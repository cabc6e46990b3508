"""The year's parameters (`parameters.json` beside this module): one
versioned file, every share and rate with its source. `load()` reads and
validates it; `Parameters` gives typed access.

Validation refuses: a missing version, an entry without a source, a share
outside [0, 1], a split marked `sums_to_one` that does not sum to 1, a range
whose ends are reversed. Errors name the entry and the rule."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .calendar import SchoolTerms, Target

PARAMETERS_FILE = Path(__file__).with_name("parameters.json")
NOT_SHARES = frozenset({"start", "follow_up_months", "contacts_per_year", "data_only_families_per_year",
                        "step_up_after_referral_days", "platform", "school_terms"})


class ParameterError(ValueError):
    """The parameters file breaks a rule (the message names the entry and the rule)."""


def _check_entry(name: str, entry: Any) -> None:
    if not isinstance(entry, dict) or "value" not in entry:
        raise ParameterError(f"{name}: every entry is an object with a value")
    if not isinstance(entry.get("source"), str) or not entry["source"].strip():
        raise ParameterError(f"{name}: every entry names its source")
    value = entry["value"]
    if isinstance(value, list):
        if len(value) != 2 or value[0] > value[1]:
            raise ParameterError(f"{name}: a range is [low, high] with low <= high")
        return
    if name in NOT_SHARES:
        return
    shares = value if isinstance(value, dict) else {name: value}
    for key, share in shares.items():
        if not isinstance(share, int | float) or not 0 <= share <= 1:
            raise ParameterError(f"{name}.{key}: a share is a number from 0 to 1")
    if entry.get("sums_to_one") and not math.isclose(sum(shares.values()), 1.0, abs_tol=1e-9):
        raise ParameterError(f"{name}: its shares must sum to 1")


def validate(document: Mapping[str, Any]) -> None:
    if not isinstance(document.get("version"), str) or not document["version"]:
        raise ParameterError("version: the file names its version")
    entries = document.get("parameters")
    if not isinstance(entries, dict) or not entries:
        raise ParameterError("parameters: the file holds its entries under 'parameters'")
    for name, entry in entries.items():
        _check_entry(name, entry)


@dataclass(frozen=True)
class Parameters:
    version: str
    entries: Mapping[str, Any]

    def __getitem__(self, name: str) -> Any:
        return self.entries[name]["value"]

    def share(self, name: str) -> float:
        return float(self[name])

    def split(self, name: str) -> dict[str, float]:
        return {str(k): float(v) for k, v in self[name].items()}

    def span(self, name: str) -> tuple[float, float]:
        low, high = self[name]
        return float(low), float(high)

    def source(self, name: str) -> str:
        return str(self.entries[name]["source"])

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self["start"])

    @property
    def target(self) -> Target:
        platform = self["platform"]
        return Target(int(platform["ALLOCATION_TARGET_DAYS"]), platform["ALLOCATION_TARGET_CALENDAR"] == "working_days")

    @property
    def contacts_source(self) -> str:
        return str(self["platform"]["CONTACTS_SOURCE_URI"])

    @property
    def school_terms(self) -> SchoolTerms:
        terms = self["school_terms"]
        return SchoolTerms.of([(a, b) for a, b in terms["terms"]], terms["closed_days"])

    def with_values(self, **values: Any) -> Parameters:
        """A copy with some values replaced (tests, calibration)."""
        entries = {**self.entries, **{k: {**self.entries[k], "value": v} for k, v in values.items()}}
        validate({"version": self.version, "parameters": entries})
        return Parameters(self.version, entries)


def load(path: Path | None = None) -> Parameters:
    document = json.loads((path or PARAMETERS_FILE).read_text())
    validate(document)
    return Parameters(document["version"], document["parameters"])
