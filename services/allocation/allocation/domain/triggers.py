"""Which events open (or join) an allocation case.

- `contacts.decided.v1` with decision `early_help`: always.
- `contacts.decided.v1` with decision `no_further_action`: as the NFA review
  policy says: every one (`all`), those at chosen levels of need
  (`levels:2,3`), or none (`none`).
- `frontdoor.step-downs.v1`: always (a step-down from social care).
- `outcomes.family-identified.v1`: always (a family identified in data).

Every other decision opens nothing. The clock starts at the event's own time
field (decided_at, stepped_down_at, identified_at), never at processing time.
The contract events are mapped to `Trigger` in `allocation/incoming.py`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from frontdoor_contracts.allocation import case_id_for
from frontdoor_contracts.vocabulary import CaseSource, Concern, Decision, HeadlineProblem, LevelOfNeed


class NfaReview(StrEnum):
    ALL = "all"
    BY_LEVEL = "by_level"
    NONE = "none"


@dataclass(frozen=True)
class NfaReviewPolicy:
    """Which NFA decisions come to the allocations meeting for review."""

    mode: NfaReview = NfaReview.ALL
    levels: frozenset[LevelOfNeed] = frozenset()

    def __post_init__(self) -> None:
        if self.mode is NfaReview.BY_LEVEL and not self.levels:
            raise ValueError("an NFA review by level of need names at least one level")
        if self.mode is not NfaReview.BY_LEVEL and self.levels:
            raise ValueError(f"levels only apply to an NFA review by level of need, not '{self.mode}'")

    def reviews(self, level: LevelOfNeed) -> bool:
        if self.mode is NfaReview.ALL:
            return True
        if self.mode is NfaReview.NONE:
            return False
        return level in self.levels

    @classmethod
    def parse(cls, text: str) -> NfaReviewPolicy:
        """`all`, `none`, or `levels:` and a comma-separated list of levels of need (1-4), e.g. `levels:2,3`."""
        value = text.strip().lower()
        if value in (NfaReview.ALL, NfaReview.NONE):
            return cls(NfaReview(value))
        prefix, _, rest = value.partition(":")
        if prefix != "levels" or not rest.strip():
            raise ValueError("NFA review policy must be 'all', 'none' or 'levels:' and levels, e.g. 'levels:2,3'")
        try:
            levels = frozenset(LevelOfNeed(int(part)) for part in rest.split(",") if part.strip())
        except ValueError:
            raise ValueError("NFA review levels must be levels of need 1 to 4, e.g. 'levels:2,3'") from None
        return cls(NfaReview.BY_LEVEL, levels)


@dataclass(frozen=True)
class Trigger:
    """One event that opens a case for a family, or joins the family's open case."""

    source: CaseSource
    event_source: str
    event_id: str
    family_id: uuid.UUID
    occurred_at: datetime
    child_ids: tuple[uuid.UUID, ...]
    contact_id: uuid.UUID | None = None
    decision: Decision | None = None
    level_of_need: LevelOfNeed | None = None
    concerns: tuple[Concern, ...] = ()
    headline_problems: tuple[HeadlineProblem, ...] = field(default=())
    referrer_source: str | None = None
    """Who made the contact (a `ReferrerSource` code, or a newer producer's code kept as it came); None for
    a step-down or a family identified in data, and for cases stored before it was kept."""
    child_ages: tuple[tuple[uuid.UUID, int], ...] = ()
    """Each child's age in whole years on the day of the decision, as contacts told it (children whose age it
    did not know are absent; empty for a step-down, a family identified in data, and cases stored before)."""

    @property
    def case_id(self) -> uuid.UUID:
        """The id of the case this trigger opens, when it opens one (stable across redelivery)."""
        return case_id_for(self.event_source, self.event_id)


def case_source_for_decision(decision: Decision, level: LevelOfNeed, policy: NfaReviewPolicy) -> CaseSource | None:
    """What a MASH decision opens: an Early Help case, an NFA review, or nothing."""
    if decision is Decision.EARLY_HELP:
        return CaseSource.EARLY_HELP_DECISION
    if decision is Decision.NO_FURTHER_ACTION and policy.reviews(level):
        return CaseSource.NFA_REVIEW
    return None
