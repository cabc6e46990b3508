"""The JSON views (`allocation.views`, the API's) as people read them on the
pages: codes as words, times in Europe/London, days as sentences, a case by
the first eight characters of its id. Nothing here reads or decides: the
pages show what the API would answer, worded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from frontdoor_contracts.vocabulary import AgencyKind, CaseStatus, ClosureOutcome
from frontdoor_platform.staff import london

from ..domain.calendar import due_date_of
from ..domain.transitions import CLOSE_AS

SOURCES: Mapping[str, str] = {
    "early_help_decision": "Early Help decision", "nfa_review": "No further action, for review",
    "step_down": "Stepped down from social care", "identified_in_data": "Identified in data"}
MARKED = frozenset({"step_down", "identified_in_data"})  # shown as a flag on the agenda
STATUSES: Mapping[str, str] = {
    "open": "Waiting for allocation", "allocated": "Allocated: offer not yet made",
    "offer_made": "Offer made: waiting for the family's answer", "accepted": "Accepted: the agency is working with "
    "the family", "declined": "Declined", "stepped_up": "Stepped up to social care", "merged": "Merged",
    "closed": "Closed"}
LEVELS: Mapping[int, str] = {1: "1 – universal", 2: "2 – universal plus", 3: "3 – targeted", 4: "4 – specialist"}
OUTCOMES: Mapping[str, str] = {
    "positive_outcome": "Positive outcome", "no_change": "No change", "deterioration": "Deterioration",
    "too_early_to_say": "Too early to say", "resolved_by_information_and_advice": "Resolved by information and "
    "advice", "escalated_to_higher_level_services": "Escalated to higher level services"}
AGENCY_KINDS: Mapping[str, str] = {
    "school": "School", "health_visiting": "Health visiting", "school_nursing": "School nursing",
    "voluntary_sector": "Voluntary sector", "la_early_help": "Council Early Help team", "police": "Police",
    "housing": "Housing", "other": "Other"}
TIMELINE: Mapping[str, str] = {
    "opened": "Case opened", "trigger_attached": "Another referral joined the case", "allocated": "Allocated",
    "offer_made": "Offer made", "offer_answered": "The family answered", "stepped_up": "Stepped up",
    "closed": "Closed", "offer_due_soon": "Offer due soon", "offer_overdue": "Offer overdue",
    "merged_into": "Merged into another case", "family_merged": "Family merged", "case_joined": "Cases joined"}


def words(code: str | None) -> str:
    """A code nobody gave a label yet, readable: `la_service` -> "La service"."""
    return (code or "").replace("_", " ").capitalize()


def label(labels: Mapping[str, str], code: str | None) -> str:
    return labels.get(code or "", words(code))


def when(iso: str | None) -> dict[str, str] | None:
    if not iso:
        return None
    return {"iso": iso, "text": london(datetime.fromisoformat(iso))}


def due_day(iso: str) -> dict[str, str]:
    """The last day an offer meets the target (`due_at` is the first instant after it), in Europe/London."""
    day = due_date_of(datetime.fromisoformat(iso))
    return {"iso": day.isoformat(), "text": day_text(day.isoformat())}


def days_left(case: Mapping[str, Any]) -> str:
    """How long the family has left on the clock, in the case's own calendar's days."""
    left = case["days_left"]
    if left is None:
        return "Offer made" if case["offered_at"] else "Not counting"
    unit = "working day" if case["target_calendar"] == "working_days" else "day"
    if left < 0:
        return f"Overdue by {-left} {unit}{'' if left == -1 else 's'}"
    if left == 0:
        return "Due today"
    return f"{left} {unit}{'' if left == 1 else 's'} left"


def ages_text(ages: Sequence[int | None]) -> str | None:
    """'aged 9 and 4', 'aged 9, one age not known'; None when no age is known."""
    known = [str(age) for age in ages if age is not None]
    if not known:
        return None
    told = known[0] if len(known) == 1 else f"{', '.join(known[:-1])} and {known[-1]}"
    unknown = len(ages) - len(known)
    return f"aged {told}" + (f", {unknown} age{'s' if unknown > 1 else ''} not known" if unknown else "")


def case_row(case: Mapping[str, Any]) -> dict[str, Any]:
    """One case as a row of the board or a caseload (what the meeting needs to recognise it and decide)."""
    level = case["level_of_need"]
    return {
        **case, "short_id": case["case_id"][:8], "status_text": label(STATUSES, case["status"]),
        "source_text": label(SOURCES, case["source"]), "marked": case["source"] in MARKED,
        "level_text": LEVELS.get(level, "Not given") if level else "Not given",
        "concern_texts": [words(c) for c in case["concerns"]],
        "problem_texts": [words(p) for p in case["headline_problems"]],
        "referrer_texts": [words(r) for r in case["referrer_sources"]],
        "ages_text": ages_text(case.get("ages", [])),
        "days_left_text": days_left(case), "started": when(case["started_at"]), "due": due_day(case["due_at"]),
        "offered": when(case["offered_at"]), "closed": when(case["closed_at"]),
        "outcome_text": label(OUTCOMES, case["outcome"]) if case["outcome"] else None,
        "agency_kind_text": label(AGENCY_KINDS, case["agency_kind"]) if case["agency_kind"] else None,
    }


def board_page(shown: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "meeting": when(shown["meeting_at"]),
        "agenda": None if shown["agenda"] is None else [case_row(c) for c in shown["agenda"]],
        "groups": [{"status": g["status"], "heading": label(STATUSES, g["status"]),
                    "cases": [case_row(c) for c in g["cases"]]} for g in shown["open_by_status"]],
    }


def outcome_rows(counts: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"text": label(OUTCOMES, code), "count": n} for code, n in counts.items()]


def day_text(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%A} {day.day} {day:%B %Y}"


def caseload_page(shown: Mapping[str, Any]) -> dict[str, Any]:
    professionals = [{**p, "outcomes": outcome_rows(p["closed_by_outcome"])} for p in shown["lead_professionals"]]
    return {**shown, "quarter_text": day_text(shown["quarter_start"]), "cases": [case_row(c) for c in shown["cases"]],
            "outcomes": outcome_rows(shown["closed_by_outcome"]), "lead_professionals": professionals}


def timeline_rows(entries: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each entry: when, what, and who recorded it (a staff id or an API client's name, never a person's)."""
    rows = []
    for entry in entries:
        what = label(TIMELINE, entry["kind"])
        if entry["kind"] == "offer_answered":
            what = f"The family {entry.get('answer', 'answered')}"
        elif entry["kind"] == "closed":
            what = f"Closed: {label(OUTCOMES, entry.get('outcome'))}"
        elif entry["kind"] == "allocated":
            what = f"Allocated to {entry.get('lead_agency_id', '')}"
        rows.append({"when": when(entry["at"]), "what": what, "by": entry.get("by") or None})
    return rows


def closing_outcomes(status: str) -> list[dict[str, str]]:
    """The outcomes a case in `status` may close with (the domain's table), as options."""
    allowed = [o for o in ClosureOutcome if CaseStatus(status) in CLOSE_AS[o]] if status in set(CaseStatus) else []
    return [{"value": o.value, "text": OUTCOMES[o.value]} for o in allowed]


def agency_kinds() -> list[dict[str, str]]:
    return [{"value": k.value, "text": AGENCY_KINDS[k.value]} for k in AgencyKind]
