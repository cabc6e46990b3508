"""The KPI gauges: computed from the database when scraped, over the 12
months before the scrape, numerator and denominator of each figure, bounded
labels only; cached for a while; a database that does not answer leaves them
out of the scrape without failing it."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest

from frontdoor_contracts.notifications import NotificationKind
from frontdoor_contracts.vocabulary import AgencyKind, CaseSource, ClosureOutcome, Decision, ReferrerSource
from frontdoor_platform.database import build_engine
from outcomes.readmodel.gauges import KpiCollector, kpi_collector

NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)
DAY = timedelta(days=1)
UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}")
LABELS = {"part", "source", "category", "agency_kind", "stage", "to", "comparator"}


def samples(collector) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value for family in collector.collect()
            for s in family.samples}


def feed(kit) -> None:
    family, other = uuid.uuid4(), uuid.uuid4()
    child = uuid.uuid4()
    old_case = uuid.uuid4()
    kit.apply([
        kit.recorded(uuid.uuid4(), family, ReferrerSource.POLICE, NOW - 10 * DAY, [child]),
        kit.recorded(uuid.uuid4(), family, ReferrerSource.POLICE, NOW - 20 * DAY, [child]),
        kit.recorded(uuid.uuid4(), other, ReferrerSource.SCHOOL, NOW - 30 * DAY, [uuid.uuid4()]),
        kit.recorded(uuid.uuid4(), other, ReferrerSource.SCHOOL, NOW - 400 * DAY, [uuid.uuid4()]),  # too old
        kit.decided(uuid.uuid4(), family, Decision.SOCIAL_CARE_ASSESSMENT, NOW - 9 * DAY, [(child, True)]),
        kit.decided(uuid.uuid4(), other, Decision.EARLY_HELP, NOW - 29 * DAY, [(uuid.uuid4(), False)]),
        kit.offered(uuid.uuid4(), other, NOW - 5 * DAY, 7, True),
        kit.offered(uuid.uuid4(), family, NOW - 4 * DAY, 12, False),
        kit.delivered(uuid.uuid4(), NotificationKind.DA_INCIDENT, NOW - 3 * DAY, True),
        kit.closed(uuid.uuid4(), family, NOW - 50 * DAY, ClosureOutcome.POSITIVE_OUTCOME, [child, uuid.uuid4()]),
        # closed 12 to 24 months ago; the family came back to social care 200 days later
        kit.closed(old_case, family, NOW - 500 * DAY, ClosureOutcome.NO_CHANGE, [child]),
        kit.decided(uuid.uuid4(), family, Decision.S47_STRATEGY_DISCUSSION, NOW - 300 * DAY, [(child, False)]),
        kit.allocated(uuid.uuid4(), other, NOW - 6 * DAY, "school-7", AgencyKind.SCHOOL),
        kit.opened(uuid.uuid4(), other, CaseSource.IDENTIFIED_IN_DATA, NOW - 40 * DAY, [uuid.uuid4()]),
        kit.identified(other, [uuid.uuid4()], ["health"], NOW - 41 * DAY),
    ])


def test_gauges_carry_each_figure_with_its_parts_and_bounded_labels(kit) -> None:
    feed(kit)
    collector = kpi_collector(kit.engine, lambda: NOW, cache_seconds=0)
    got = samples(collector)
    k = "frontdoor_outcomes_kpi_"
    assert got[(k + "contacts_by_source", (("part", "numerator"), ("source", "police")))] == 2
    assert got[(k + "contacts_by_source", (("part", "denominator"), ("source", "police")))] == 3
    assert got[(k + "contacts_by_source_ratio", (("source", "school"),))] == 1 / 3
    assert got[(k + "statutory_threshold", (("part", "numerator"),))] == 2  # with the S47 300 days ago
    assert got[(k + "early_help_conversion_ratio", ())] == 1 / 3
    assert got[(k + "re_referral_ratio", ())] == 0.5
    assert got[(k + "re_referral_comparator_ratio", (("comparator", "national"),))] == 0.223
    assert got[(k + "re_referral_comparator_ratio", (("comparator", "statistical_neighbours"),))] == 0.208
    assert got[(k + "offers_within_target_ratio", ())] == 0.5
    assert got[(k + "spa_to_offer_days_ratio", ())] == 9.5
    assert got[(k + "spa_to_offer_median_days", ())] == 9.5
    assert got[(k + "da_notified_before_school_day", (("part", "denominator"),))] == 1
    assert got[(k + "closure_outcome_children", (("category", "positive_outcome"), ("part", "numerator")))] == 2
    assert got[(k + "closure_outcome_children", (("category", "no_change"), ("part", "numerator")))] == 0
    assert got[(k + "families", (("stage", "identified"),))] == 1
    assert got[(k + "families", (("stage", "with_plan"),))] == 1
    assert got[(k + "closed_not_re_referred", (("part", "denominator"), ("to", "social_care")))] == 1
    assert got[(k + "closed_not_re_referred", (("part", "numerator"), ("to", "social_care")))] == 0
    assert got[(k + "closed_not_re_referred_ratio", (("to", "early_help"),))] == 1.0
    assert got[(k + "lead_allocations", (("agency_kind", "school"), ("part", "numerator")))] == 1
    assert got[(k + "lead_organisations", (("agency_kind", "school"),))] == 1
    assert (k + "plans_sustained_ratio", ()) in got and (k + "da_notified_before_school_day_ratio", ()) in got
    for name, labels in got:
        assert name.startswith(k)
        assert {label for label, _ in labels} <= LABELS
        assert not any(UUID.search(value) for _, value in labels), (name, labels)
    assert {family.name for family in collector.collect()} == {family.name for family in collector.describe()}

    registry = CollectorRegistry()
    registry.register(collector)
    text = generate_latest(registry).decode()
    assert 'frontdoor_outcomes_kpi_re_referral{part="denominator"} 2.0' in text
    assert "# TYPE frontdoor_outcomes_kpi_closed_not_re_referred gauge" in text


def test_an_empty_database_shows_zero_parts_and_no_ratio(kit) -> None:
    got = samples(kpi_collector(kit.engine, lambda: NOW, cache_seconds=0))
    assert got[("frontdoor_outcomes_kpi_re_referral", (("part", "denominator"),))] == 0
    assert not any(name == "frontdoor_outcomes_kpi_re_referral_ratio" for name, _ in got)
    assert not any(name == "frontdoor_outcomes_kpi_spa_to_offer_median_days" for name, _ in got)


def test_a_scrape_reuses_a_recent_reading(kit) -> None:
    ticks = [0.0]
    collector = KpiCollector(kit.engine, lambda: NOW, cache_seconds=30, timer=lambda: ticks[0])
    key = ("frontdoor_outcomes_kpi_contacts_by_source", (("part", "denominator"), ("source", "gp")))
    assert samples(collector)[key] == 0
    kit.apply([kit.recorded(uuid.uuid4(), uuid.uuid4(), ReferrerSource.GP, NOW - DAY, [uuid.uuid4()])])
    ticks[0] = 29.0
    assert samples(collector)[key] == 0
    ticks[0] = 30.0
    assert samples(collector)[key] == 1


def test_a_database_that_does_not_answer_leaves_the_kpis_out(tmp_path: Path) -> None:
    engine = build_engine(f"sqlite:///{tmp_path / 'not-migrated.db'}")
    try:
        assert list(kpi_collector(engine, lambda: NOW, cache_seconds=0).collect()) == []
    finally:
        engine.dispose()


def test_the_last_12_months_are_calendar_months_not_365_days(kit) -> None:
    now = datetime(2028, 6, 30, 12, tzinfo=UTC)  # 29 February 2028 is in the last 12 months: they are 366 days
    contact_at = datetime(2027, 6, 30, 18, tzinfo=UTC)  # in them, though more than 365 days before `now`
    closed_at = datetime(2026, 6, 30, 18, tzinfo=UTC)  # in the 12 months before those (731 days before `now`)
    kit.apply([kit.recorded(uuid.uuid4(), uuid.uuid4(), ReferrerSource.POLICE, contact_at, [uuid.uuid4()]),
               kit.closed(uuid.uuid4(), uuid.uuid4(), closed_at, ClosureOutcome.NO_CHANGE, [uuid.uuid4()])])
    got = samples(kpi_collector(kit.engine, lambda: now, cache_seconds=0))
    k = "frontdoor_outcomes_kpi_"
    assert got[(k + "contacts_by_source", (("part", "denominator"), ("source", "police")))] == 1
    assert got[(k + "closed_not_re_referred", (("part", "denominator"), ("to", "early_help")))] == 1
