"""The KPI report the partnership board receives (JSON), any period.

Every figure is {numerator, denominator, value}: value is the ratio, or None
when the denominator is 0. Breakdowns are dicts with sorted keys (lists sorted
by their key), so two reports of the same facts compare and serialise equal."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .calculations import RE_REFERRAL_WINDOW_MONTHS, ratio

NATIONAL_RE_REFERRAL_RATE = 0.223
STATISTICAL_NEIGHBOURS_RE_REFERRAL_RATE = 0.208

PERIOD_RULE = ("Facts whose business time (received_at, decided_at, offered_at, delivered_at, closed_at, "
               "allocated_at, opened_at, identified_at, achieved_at, eligible_at) is in [period_start, period_end).")
RE_REFERRAL_RULE = ("Per child: referrals (social care assessment or S47 strategy discussion) decided in the period, "
                    "and of them the re-referrals (a referral of the same child in the previous 12 months), with the "
                    "contacts service's corrections applied.")
CLOSURES_RULE = ("Per child: the children of the cases closed in the period. A child in more than one closed case "
                 "counts under each of their categories once and once in the denominator (distinct children), so "
                 "the categories can add up to more than 100%; by_category_cases counts each case once.")
FAMILIES_RULE = ("Distinct families (merged families counted once). A plan is a case opened for a family with headline "
                 "problems: on the case, or because the family was identified in data before the case opened. "
                 "plans_sustained: of the families with a plan made in the period, those whose plan (that case) "
                 "achieved sustained outcomes before the report was made.")
CLOSED_RULE = (f"Per case: cases closed in the period whose {RE_REFERRAL_WINDOW_MONTHS} months after closure are "
               "over when the report is made, and of them those without an Early Help decision (or without a social "
               "care assessment or S47 decision) for the same family within 12 months of the closure: calendar "
               "months between dates in England, as re-referrals are counted (DfE), from the closing instant to the "
               "end of the day before its anniversary (a case closed on 29 February: to the end of 28 February). "
               "Cases whose 12 months are not over are not yet known and left out of the denominator.")
DA_RULE = ("Domestic abuse notifications delivered in the period whose school-day deadline is known, and of them "
           "those delivered before it. Distinct notifications.")
LEAD_RULE = "Allocations of a lead agency and lead professional made in the period, and the distinct organisations."
OFFERS_RULE = ("Offers made in the period: days from the SPA decision in the case's target calendar; within_target "
               "is the offer before the case's due time (10 days by default).")


class Report(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Figure(Report):
    numerator: int
    denominator: int
    value: float | None

    @classmethod
    def of(cls, numerator: int, denominator: int) -> Figure:
        return cls(numerator=numerator, denominator=denominator, value=ratio(numerator, denominator))


class ContactsKpi(Report):
    total: int = Field(description="Contacts recorded")
    by_source: dict[str, Figure] = Field(description="Each referrer source: its contacts / all contacts")


class DecisionsKpi(Report):
    total: int = Field(description="Contacts decided")
    statutory_threshold: Figure = Field(description="Decided as a referral to social care (assessment or S47)")
    early_help: Figure = Field(description="Decided as Early Help (conversion of contacts to Early Help)")
    by_decision: dict[str, int]


class ReReferralKpi(Report):
    rate: Figure = Field(description="Re-referrals / referrals, per child")
    corrected: int = Field(description="Referrals whose flag a correction changed")
    national: float = NATIONAL_RE_REFERRAL_RATE
    statistical_neighbours: float = STATISTICAL_NEIGHBOURS_RE_REFERRAL_RATE
    rule: str = RE_REFERRAL_RULE


class OffersKpi(Report):
    offers: int
    within_target: Figure
    mean_days: Figure = Field(description="Total days / offers: value is the mean")
    median_days: float | None
    by_days: dict[int, int] = Field(description="Offers by days taken")
    rule: str = OFFERS_RULE


class DaNotificationsKpi(Report):
    before_school_day: Figure
    without_deadline: int = Field(description="DA notifications delivered whose deadline was not known")
    rule: str = DA_RULE


class ClosuresKpi(Report):
    cases: int = Field(description="Cases closed")
    children: int = Field(description="Distinct children of those cases")
    child_closures: int = Field(description="Child × case pairs (a child closed twice counts twice)")
    by_category: dict[str, Figure] = Field(description="Per child: children with that outcome / distinct children")
    by_category_cases: dict[str, Figure] = Field(description="Per case: cases with that outcome / cases")
    rule: str = CLOSURES_RULE


class FamiliesKpi(Report):
    identified: int = Field(description="Families identified in data")
    identified_by_problem: dict[str, int] = Field(description="Families identified, by headline problem")
    with_plans: int = Field(description="Families with a plan made (a case opened with headline problems)")
    sustained: int = Field(description="Families achieving significant and sustained progress")
    claim_eligible: int = Field(description="Families qualifying for a results claim")
    claim_eligible_by_basis: dict[str, int]
    plans_sustained: Figure = Field(description="Families with a plan made in the period whose plan is sustained")
    rule: str = FAMILIES_RULE


class ClosedCasesKpi(Report):
    closed: int = Field(description="Cases closed in the period")
    not_yet_known: int = Field(description="Closed less than 12 months before the report: not in the denominators")
    not_re_referred_to_early_help: Figure
    not_re_referred_to_social_care: Figure
    window_months: int = RE_REFERRAL_WINDOW_MONTHS
    rule: str = CLOSED_RULE


class LeadAgency(Report):
    lead_agency_id: str
    agency_kind: str
    allocations: int


class LeadKindKpi(Report):
    allocations: Figure = Field(description="Allocations to this kind of organisation / all allocations")
    organisations: int


class LeadProfessionalsKpi(Report):
    allocations: int
    organisations: int = Field(description="Distinct organisations taking the lead professional role")
    by_agency_kind: dict[str, LeadKindKpi]
    by_agency: list[LeadAgency] = Field(description="Sorted by agency id, then kind")
    rule: str = LEAD_RULE


class KpiReport(Report):
    period_start: AwareDatetime
    period_end: AwareDatetime
    generated_at: AwareDatetime = Field(description="`now`: what is known (the 12 months after a closure) is as of it")
    period_rule: str = PERIOD_RULE
    contacts: ContactsKpi
    decisions: DecisionsKpi
    re_referrals: ReReferralKpi
    spa_to_offer: OffersKpi
    da_notifications: DaNotificationsKpi
    closures: ClosuresKpi
    families: FamiliesKpi
    closed_cases: ClosedCasesKpi
    lead_professionals: LeadProfessionalsKpi

