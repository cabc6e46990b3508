"""The KPI report over the read model's facts: `kpi_report(session, start,
end, now)`. Reads only; the same facts give an equal report.

Period: facts whose business time is in [start, end). `now` is when the
report is made: whether a closed case came back within 12 months is known
only once those 12 months are over at `now` (otherwise "not yet known", out
of the denominators), and a plan counts as sustained when that was achieved
before `now`. Families are counted as they stand now (a merge joins them).

The KPIs themselves: `front_door_kpis` (contacts, decisions, re-referrals,
DA notifications), `early_help_kpis` (offers, lead professionals, closures,
closed cases not re-referred), `family_kpis` (identified, plans, sustained,
claims); the report's shape and rules in `report_models`."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from .early_help_kpis import closed_cases_kpi, closures_kpi, lead_professionals_kpi, offers_kpi
from .family_kpis import families_kpi
from .front_door_kpis import contacts_kpi, da_notifications_kpi, decisions_kpi, re_referrals_kpi
from .report_models import KpiReport


def check_period(start: datetime, end: datetime) -> None:
    """Refuse a naive or reversed period."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the period's start and end must be aware datetimes")
    if end < start:
        raise ValueError("the period ends before it starts")


def kpi_report(session: Session, start: datetime, end: datetime, now: datetime) -> KpiReport:
    """Every KPI over the facts in [start, end), as known at `now`."""
    check_period(start, end)
    return KpiReport(
        period_start=start, period_end=end, generated_at=now,
        contacts=contacts_kpi(session, start, end),
        decisions=decisions_kpi(session, start, end),
        re_referrals=re_referrals_kpi(session, start, end),
        spa_to_offer=offers_kpi(session, start, end),
        da_notifications=da_notifications_kpi(session, start, end),
        closures=closures_kpi(session, start, end),
        families=families_kpi(session, start, end, now),
        closed_cases=closed_cases_kpi(session, start, end, now),
        lead_professionals=lead_professionals_kpi(session, start, end))
