"""The thresholds the domain's rules use (headline problems, progress,
identification), with defaults from the seeds and the Troubled Families
outcomes framework; versioned in a configuration file (`thresholds.json`)
that `thresholds_loader.load_thresholds` reads."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = "defaults"
    # A headline problem counts when its evidence is this recent.
    lookback_days: int = Field(default=365, ge=1)
    # School attendance: a problem at or above this share of unauthorised absence (across the last terms),
    # or this many fixed-term exclusions in them, or a permanent exclusion; progress is below both.
    unauthorised_absence_share: float = Field(default=0.15, gt=0, lt=1)
    fixed_term_exclusions: int = Field(default=3, ge=1)
    attendance_terms: int = Field(default=3, ge=1)
    # Offending: measured over consecutive periods from the plan's start against the period before it.
    period_days: int = Field(default=182, ge=1)
    youth_offending_reduction: float = Field(default=0.33, gt=0, le=1)
    asb_reduction: float = Field(default=0.60, gt=0, le=1)
    # Worklessness: continuous employment this long is an outcome (and a results claim on its own).
    continuous_employment_weeks: int = Field(default=26, ge=1)
    # Progress must hold this long to count as sustained.
    sustain_days: int = Field(default=182, ge=1)
    # Families identified in data: at least this many headline problems.
    identify_at_problems: int = Field(default=2, ge=1)
    # A family whose case closed may be identified again only after this quiet period.
    quiet_days_after_closure: int = Field(default=90, ge=0)
    # Age under which a person counts as a child.
    adult_age: int = Field(default=18, ge=1)
