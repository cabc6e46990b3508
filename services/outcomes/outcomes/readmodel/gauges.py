"""The KPIs as Prometheus gauges, `frontdoor_outcomes_kpi_*`, computed from
the read model when scraped (in the scrape thread) over the 12 months before
the scrape (calendar months in England: `calculations.year_before`). Each figure is two samples, part="numerator" and
part="denominator", and a `_ratio` gauge (absent while the denominator is 0).
Labels are bounded categories only (source, category, agency_kind, stage,
to, comparator, part): never a family, child or agency id.

Closed cases not re-referred: the cases closed 12 to 24 months before the
scrape (those closed in the last 12 months are not yet known)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy.engine import Engine
from sqlmodel import Session

from frontdoor_platform.clock import Clock

from .calculations import year_before
from .early_help_kpis import closed_cases_kpi
from .report import kpi_report
from .report_models import (
    NATIONAL_RE_REFERRAL_RATE,
    STATISTICAL_NEIGHBOURS_RE_REFERRAL_RATE,
    ClosedCasesKpi,
    Figure,
    KpiReport,
)

log = logging.getLogger(__name__)

PREFIX = "frontdoor_outcomes_kpi_"
PART = "part"

# name, help, labels besides `part` (None: a plain gauge, no parts and no ratio)
FIGURES: tuple[tuple[str, str, tuple[str, ...] | None], ...] = (
    ("contacts_by_source", "Contacts recorded in the last 12 months: from this source / all", ("source",)),
    ("statutory_threshold", "Contacts decided in the last 12 months: referrals to social care / all decided", ()),
    ("early_help_conversion", "Contacts decided in the last 12 months: Early Help / all decided", ()),
    ("re_referral", "Referrals in the last 12 months, per child: re-referrals / referrals", ()),
    ("offers_within_target", "Offers made in the last 12 months: within the target (10 days) / all offers", ()),
    ("spa_to_offer_days", "Offers made in the last 12 months: total days from SPA decision / offers", ()),
    ("da_notified_before_school_day", "DA notifications delivered in the last 12 months: before the school day / "
     "all with a known deadline", ()),
    ("closure_outcome_children", "Children of cases closed in the last 12 months: with this outcome / distinct "
     "children (a child closed twice can count in two categories)", ("category",)),
    ("plans_sustained", "Families with a plan made in the last 12 months: sustained / with a plan", ()),
    ("closed_not_re_referred", "Cases closed 12 to 24 months ago: not re-referred (to early_help or social_care) "
     "within 12 months / closed", ("to",)),
    ("lead_allocations", "Lead professional allocations in the last 12 months: to this kind of organisation / all",
     ("agency_kind",)),
)
PLAIN: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("re_referral_comparator_ratio", "Re-referral rate comparators: national 22.3%, statistical neighbours 20.8%",
     ("comparator",)),
    ("spa_to_offer_median_days", "Offers made in the last 12 months: median days from SPA decision", ()),
    ("families", "Families in the last 12 months, by stage (identified in data, with a plan, sustained, "
     "claim eligible)", ("stage",)),
    ("lead_organisations", "Distinct organisations taking the lead professional role in the last 12 months",
     ("agency_kind",)),
)


def _empty() -> dict[str, GaugeMetricFamily]:
    families: dict[str, GaugeMetricFamily] = {}
    for name, text, labels in FIGURES:
        families[name] = GaugeMetricFamily(PREFIX + name, text, labels=[*(labels or ()), PART])
        families[name + "_ratio"] = GaugeMetricFamily(PREFIX + name + "_ratio", text + " (the ratio)",
                                                      labels=list(labels or ()))
    for name, text, labels in PLAIN:
        families[name] = GaugeMetricFamily(PREFIX + name, text, labels=list(labels))
    return families


def _figure(families: dict[str, GaugeMetricFamily], name: str, figure: Figure, *labels: str) -> None:
    families[name].add_metric([*labels, "numerator"], figure.numerator)
    families[name].add_metric([*labels, "denominator"], figure.denominator)
    if figure.value is not None:
        families[name + "_ratio"].add_metric(list(labels), figure.value)


def gauge_families(report: KpiReport, closed: ClosedCasesKpi) -> list[GaugeMetricFamily]:
    """The gauges of a report (and of the closed-cases cohort whose 12 months are over)."""
    f = _empty()
    for source, figure in report.contacts.by_source.items():
        _figure(f, "contacts_by_source", figure, source)
    _figure(f, "statutory_threshold", report.decisions.statutory_threshold)
    _figure(f, "early_help_conversion", report.decisions.early_help)
    _figure(f, "re_referral", report.re_referrals.rate)
    f["re_referral_comparator_ratio"].add_metric(["national"], NATIONAL_RE_REFERRAL_RATE)
    f["re_referral_comparator_ratio"].add_metric(["statistical_neighbours"], STATISTICAL_NEIGHBOURS_RE_REFERRAL_RATE)
    offers = report.spa_to_offer
    _figure(f, "offers_within_target", offers.within_target)
    _figure(f, "spa_to_offer_days", offers.mean_days)
    if offers.median_days is not None:
        f["spa_to_offer_median_days"].add_metric([], offers.median_days)
    _figure(f, "da_notified_before_school_day", report.da_notifications.before_school_day)
    for category, figure in report.closures.by_category.items():
        _figure(f, "closure_outcome_children", figure, category)
    families = report.families
    for stage, count in (("identified", families.identified), ("with_plan", families.with_plans),
                         ("sustained", families.sustained), ("claim_eligible", families.claim_eligible)):
        f["families"].add_metric([stage], count)
    _figure(f, "plans_sustained", families.plans_sustained)
    _figure(f, "closed_not_re_referred", closed.not_re_referred_to_early_help, "early_help")
    _figure(f, "closed_not_re_referred", closed.not_re_referred_to_social_care, "social_care")
    for kind, lead in report.lead_professionals.by_agency_kind.items():
        _figure(f, "lead_allocations", lead.allocations, kind)
        f["lead_organisations"].add_metric([kind], lead.organisations)
    return list(f.values())


class KpiCollector(Collector):
    """Reads the KPIs when scraped; a result is reused for `cache_seconds`
    (scrapes come every few seconds, the figures move by the day). A database
    that does not answer leaves the KPIs out of that scrape, never fails it."""

    def __init__(self, engine: Engine, clock: Clock, cache_seconds: float = 30.0,
                 timer: Callable[[], float] = time.monotonic):
        self._engine = engine
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._timer = timer
        self._cached: tuple[float, list[GaugeMetricFamily]] | None = None

    def read(self) -> list[GaugeMetricFamily]:
        now = self._clock()
        with Session(self._engine) as session:
            report = kpi_report(session, year_before(now), now, now)
            last_year = year_before(now)  # the cases of the 12 months before those: their follow-up is over
            closed = closed_cases_kpi(session, year_before(last_year), last_year, now)
        return gauge_families(report, closed)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        at = self._timer()
        if self._cached is None or at - self._cached[0] >= self._cache_seconds:
            try:
                self._cached = (at, self.read())
            except Exception:
                log.warning("KPI gauges not read from the database", exc_info=False)
                return
        yield from self._cached[1]

    def describe(self) -> Iterator[GaugeMetricFamily]:
        yield from _empty().values()


def kpi_collector(engine: Engine, clock: Clock, *, cache_seconds: float = 30.0) -> Collector:
    """The KPI collector for `metrics.add_collector`."""
    return KpiCollector(engine, clock, cache_seconds)
