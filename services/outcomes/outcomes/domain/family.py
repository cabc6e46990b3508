"""One family's picture, kept per family by the stream: its people, the
facts about them (ids, dates and measures, never identifiers), its Early
Help cases and its outcome plan. Serialisable as JSON (pydantic)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from frontdoor_contracts.partners import AttendanceMeasure, EmploymentMeasure, HealthMeasure, OffendingMeasure
from frontdoor_contracts.vocabulary import ClosureOutcome, HeadlineProblem


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Attendance(Model):
    person_id: uuid.UUID
    measure: AttendanceMeasure


class Offence(Model):
    person_id: uuid.UUID
    measure: OffendingMeasure


class Employment(Model):
    person_id: uuid.UUID
    measure: EmploymentMeasure


class Health(Model):
    person_id: uuid.UUID
    measure: HealthMeasure


class Case(Model):
    case_id: uuid.UUID
    opened_on: date
    closed_on: date | None = None
    outcome: ClosureOutcome | None = None
    stepped_up: bool = False


class Plan(Model):
    """Made when an Early Help case opens: the family's headline problems
    then, and the baselines progress is measured against."""

    case_id: uuid.UUID
    starts_on: date
    problems: list[HeadlineProblem]
    baseline_youth_offences: int = 0
    baseline_asb: int = 0
    achieved_on: date | None = None
    claim_basis: str | None = None


class Family(Model):
    family_id: uuid.UUID
    children: set[uuid.UUID] = Field(default_factory=set)
    adults: set[uuid.UUID] = Field(default_factory=set)
    # facts by fact id (a partner's replacement record overwrites)
    attendance: dict[uuid.UUID, Attendance] = Field(default_factory=dict)
    offences: dict[uuid.UUID, Offence] = Field(default_factory=dict)
    employment: dict[uuid.UUID, Employment] = Field(default_factory=dict)
    health: dict[uuid.UUID, Health] = Field(default_factory=dict)
    da_incidents: dict[str, date] = Field(default_factory=dict)  # contact id → day
    needs_help: dict[str, date] = Field(default_factory=dict)  # contact id → day decided (referral or Early Help)
    social_care_referrals: dict[str, date] = Field(default_factory=dict)  # contact id → day
    cases: dict[uuid.UUID, Case] = Field(default_factory=dict)
    plans: list[Plan] = Field(default_factory=list)
    identified_on: list[date] = Field(default_factory=list)
    seen: set[str] = Field(default_factory=set)  # event ids applied (the stream is at-least-once)
    last_event_at: datetime | None = None

    @property
    def open_case(self) -> Case | None:
        open_cases = [c for c in self.cases.values() if c.closed_on is None]
        return max(open_cases, key=lambda c: c.opened_on) if open_cases else None

    @property
    def last_closed_on(self) -> date | None:
        return max((c.closed_on for c in self.cases.values() if c.closed_on is not None), default=None)

    @property
    def plan(self) -> Plan | None:
        return self.plans[-1] if self.plans else None

    def merged_with(self, other: Family) -> Family:
        """This family, with everything known about `other` (found to be the same family)."""
        merged = self.model_copy(deep=True)
        merged.children |= other.children
        merged.adults |= other.adults
        for name in ("attendance", "offences", "employment", "health", "da_incidents", "needs_help",
                     "social_care_referrals", "cases"):
            getattr(merged, name).update(getattr(other, name))
        merged.plans = sorted(merged.plans + other.plans, key=lambda p: p.starts_on)
        merged.identified_on = sorted(set(merged.identified_on) | set(other.identified_on))
        merged.seen |= other.seen
        return merged
