"""A chronology as the page shows it (pure): each item's time in England
(an instant to the minute, a rule's day as its date), what happened in
words, and its facts as label and value pairs (categories in words, ids in
full); never anything but the item's ids, categories and times."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .readmodel.chronology import Facts, Kind
from .readmodel.chronology_read import Chronology, Item, Precision

LONDON = ZoneInfo("Europe/London")

WHAT: dict[Kind, str] = {
    Kind.CONTACT_RECORDED: "Contact recorded",
    Kind.SCHOOL_NOTIFIED: "School notified (domestic abuse incident)",
    Kind.SCHOOL_ACKNOWLEDGED: "School acknowledged the notification",
    Kind.CONTACT_DECIDED: "MASH decision",
    Kind.RE_REFERRAL_CORRECTED: "Re-referral flag corrected",
    Kind.FAMILIES_MERGED: "Families found to be one",
    Kind.PARTNER_FACT: "Partner's fact",
    Kind.FAMILY_IDENTIFIED: "Identified in data",
    Kind.CASE_OPENED: "Early Help case opened",
    Kind.PLAN_MADE: "Outcome plan made",
    Kind.CASE_ALLOCATED: "Case allocated",
    Kind.OFFER_MADE: "Offer made",
    Kind.OFFER_ANSWERED: "Family's answer to the offer",
    Kind.STEPPED_UP: "Stepped up to social care",
    Kind.CASE_CLOSED: "Case closed",
    Kind.TARGET_MET: "Target met",
    Kind.OUTCOME_ACHIEVED: "Outcome achieved (sustained progress)",
    Kind.CLAIM_ELIGIBLE: "Results claim eligible",
}

LABELS: dict[str, str] = {
    "source": "Source", "channel": "Channel", "recipient": "School (URN)",
    "before_deadline": "Before the school day's deadline", "concerns": "Concerns",
    "da_incident": "Domestic abuse incident",
    "child_ids": "Children", "adults": "Adults", "decision": "Decision", "level_of_need": "Level of need",
    "referral": "Referral to social care", "re_referral": "Re-referral",
    "re_referred_child_ids": "Children re-referred", "problems": "Headline problems", "targets": "Targets measured",
    "due_at": "Offer due by the end of", "agency_kind": "Agency kind",
    "lead_professional": "Lead professional (staff ID)",
    "at_meeting": "At the allocations meeting", "days_taken": "Days to the offer", "within_target": "Within target",
    "answer": "Answer", "status_before": "Status before", "outcome": "Outcome", "dataset": "Dataset",
    "category": "Category", "about_on": "About the day", "person_id": "Person", "is_child": "A child",
    "merged_family_ids": "Families merged in", "progress_since": "Every target met since", "basis": "Basis",
}


@dataclass(frozen=True)
class Row:
    when: str
    iso: str  # the machine-readable time (<time datetime=...>)
    what: str
    kind: str
    case_id: str | None
    contact_id: str | None
    agency_id: str | None
    facts: list[tuple[str, str]]


def words(value: str) -> str:
    """A category in words: `early_help` → `early help`."""
    return value.replace("_", " ")


def when(at: datetime) -> str:
    local = at.astimezone(LONDON)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M}"


def day(on: date) -> str:
    return f"{on:%a} {on.day} {on:%b %Y}"


def shown(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return when(value)
    if isinstance(value, date):
        return day(value)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value) if value else "none"
    if isinstance(value, str):
        return words(value)
    return str(value)


def last_day(due_at: datetime) -> date:
    """The last day an offer is on time: allocation's `due_at` is the first instant after it (midnight, London)."""
    return (due_at - timedelta(microseconds=1)).astimezone(LONDON).date()


def fact_pairs(facts: Facts) -> list[tuple[str, str]]:
    return [(LABELS.get(name, words(name)),
             day(last_day(value)) if name == "due_at" and isinstance(value := getattr(facts, name), datetime)
             else shown(getattr(facts, name)))
            for name in facts.model_dump(exclude_none=True)]


def row(item: Item) -> Row:
    exact = item.precision is Precision.INSTANT
    return Row(when=when(item.at) if exact else day(item.day),
               iso=item.at.isoformat() if exact else item.day.isoformat(), what=WHAT[item.kind],
               kind=item.kind.value, case_id=str(item.case_id) if item.case_id else None,
               contact_id=str(item.contact_id) if item.contact_id else None, agency_id=item.agency_id,
               facts=fact_pairs(item.facts))


def rows(found: Chronology) -> list[Row]:
    return [row(item) for item in found.items]
