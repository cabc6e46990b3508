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
    """Made when an Early Help case opens. Its problems are those the case
    named plus those the family's facts show on the day it started, and its
    baselines are the period before that day: both judged from every fact
    known now (a fact learned late about an earlier day still counts, so the
    order the facts arrived in does not change the plan)."""

    case_id: uuid.UUID
    starts_on: date
    declared: list[HeadlineProblem] = Field(default_factory=list)
    achieved_on: date | None = None
    claim_basis: str | None = None


class Happened(Model):
    """An event in the family's history: its id and category, never its content."""

    event_id: str
    category: str
    on: date


HISTORY_KEPT = 500


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
    history: list[Happened] = Field(default_factory=list)  # the latest HISTORY_KEPT
    last_event_at: datetime | None = None

    def saw(self, event_id: str, category: str, at: datetime, on: date) -> None:
        self.seen.add(event_id)
        self.history.append(Happened(event_id=event_id, category=category, on=on))
        del self.history[:-HISTORY_KEPT]  # in place: a copy of the whole history each event cost a rebuild 2%
        self.last_event_at = max(self.last_event_at, at) if self.last_event_at else at

    @property
    def open_case(self) -> Case | None:
        return max((c for c in self.cases.values() if c.closed_on is None), key=lambda c: c.opened_on, default=None)

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
        merged.history = sorted(merged.history + other.history, key=lambda h: h.on)[-HISTORY_KEPT:]
        if other.last_event_at and (merged.last_event_at is None or other.last_event_at > merged.last_event_at):
            merged.last_event_at = other.last_event_at
        return merged
