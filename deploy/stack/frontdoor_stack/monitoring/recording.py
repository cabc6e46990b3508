"""Recording rules: the golden signals of every service under one name each
(`service:frontdoor_<thing>:<operation>`, with the scrape target's `service`
label), and the partnership's KPIs as the dashboards read them.

Live KPIs come from the services' counters over the last 30 days; the
12-month figures the outcomes service reports (`frontdoor_outcomes_kpi_*`)
are gathered under one name with a `kpi` label."""

from __future__ import annotations

from .alerts import SERVICE_NAMES
from .rules import Group, Record

# The outcomes service's 12-month KPI ratios (outcomes/readmodel/gauges.py), each `frontdoor_outcomes_kpi_<name>_ratio`.
KPI_RATIOS = ("contacts_by_source", "statutory_threshold", "early_help_conversion", "re_referral",
              "offers_within_target", "spa_to_offer_days", "da_notified_before_school_day", "closure_outcome_children",
              "plans_sustained", "closed_not_re_referred", "lead_allocations")


def _each(record: str, expr: str) -> tuple[Record, ...]:
    """`record` from every service's metric: `expr` names the service's metrics as `{m}`."""
    return tuple(Record(record, expr.format(m=f"frontdoor_{service}_"), (("service", service),))
                 for service in SERVICE_NAMES)


GOLDEN_SIGNALS = Group("frontdoor-golden-signals.rules", (
    # traffic, errors and latency of each API
    *_each("service:frontdoor_http_requests:rate5m",
           "sum by (service, route, method, status_class) (rate({m}http_requests_total[5m]))"),
    *_each("service:frontdoor_http_errors:ratio_rate5m",
           'sum by (service, route) (rate({m}http_requests_total{{status_class="5xx"}}[5m]))\n/\n'
           "sum by (service, route) (rate({m}http_requests_total[5m]))"),
    *_each("service:frontdoor_http_request_duration_seconds:p99_5m",
           "histogram_quantile(0.99, sum by (service, route, le) (rate({m}http_request_duration_seconds_bucket[5m])))"),
    *_each("service:frontdoor_http_request_duration_seconds:p50_5m",
           "histogram_quantile(0.5, sum by (service, route, le) (rate({m}http_request_duration_seconds_bucket[5m])))"),
    *_each("service:frontdoor_api_rejections:rate5m", "sum by (service, status) (rate({m}api_rejections_total[5m]))"),
    # the consumers: traffic, latency, saturation (lag) and errors (dead letters, restarts)
    *_each("service:frontdoor_consumed:rate5m", "sum by (service, topic) (rate({m}consumed_total[5m]))"),
    *_each("service:frontdoor_batch_seconds:p99_5m",
           "histogram_quantile(0.99, sum by (service, le) (rate({m}batch_seconds_bucket[5m])))"),
    *_each("service:frontdoor_group_lag_records:sum", "sum by (service, topic) ({m}group_lag_records)"),
    *_each("service:frontdoor_dead_lettered:increase1h",
           "sum by (service, topic, reason) (increase({m}dead_lettered_total[1h]))"),
    *_each("service:frontdoor_consumer_restarts:increase1h",
           "sum by (service) (increase({m}consumer_restarts_total[1h]))"),
    *_each("service:frontdoor_worker_up:min", "min by (service) ({m}worker_up)"),
    # the outboxes
    *_each("service:frontdoor_outbox_pending:max", "max by (service) ({m}outbox_pending)"),
    *_each("service:frontdoor_outbox_parked_rows:max", "max by (service) ({m}outbox_parked_rows)"),
    *_each("service:frontdoor_outbox_published:rate5m", "sum by (service) (rate({m}outbox_published_total[5m]))"),
))

_C, _A, _N = "frontdoor_contacts_", "frontdoor_allocation_", "frontdoor_notifications_"


def _ratio_30d(part: str, whole: str) -> str:
    return f"sum(increase({part}[30d]))\n/\nsum(increase({whole}[30d]))"


KPIS = Group("frontdoor-kpis.rules", (
    Record("source:frontdoor_contacts_received:increase1d", f"sum by (source) (increase({_C}received_total[1d]))"),
    Record("decision:frontdoor_contacts_decisions:increase1d",
           f"sum by (decision) (increase({_C}decisions_total[1d]))"),
    Record("frontdoor:re_referral:ratio_30d", _ratio_30d(f"{_C}re_referrals_total", f"{_C}referrals_total")),
    Record("frontdoor:offers_within_target:ratio_30d",
           _ratio_30d(f'{_A}offers_total{{within_target="true"}}', f"{_A}offers_total")),
    Record("frontdoor:spa_to_offer_days:p50_30d",
           f"histogram_quantile(0.5, sum by (le) (increase({_A}spa_to_offer_days_bucket[30d])))"),
    Record("frontdoor:spa_to_offer_days:p90_30d",
           f"histogram_quantile(0.9, sum by (le) (increase({_A}spa_to_offer_days_bucket[30d])))"),
    Record("frontdoor:da_notified_before_school_day:ratio_30d",
           _ratio_30d(f'{_N}deliveries_total{{timing="before_deadline"}}',
                      f'{_N}deliveries_total{{timing=~"before_deadline|late"}}')),
    Record("frontdoor:re_referral:ratio_12m_vs_national",
           "frontdoor_outcomes_kpi_re_referral_ratio\n- ignoring (comparator)\n"
           'frontdoor_outcomes_kpi_re_referral_comparator_ratio{comparator="national"}'),
    *(Record("kpi:frontdoor_outcomes_kpi:ratio", f"frontdoor_outcomes_kpi_{name}_ratio", (("kpi", name),))
      for name in KPI_RATIOS),
    Record("stage:frontdoor_outcomes_families:sum", "sum by (stage) (frontdoor_outcomes_kpi_families)"),
))

GROUPS = (GOLDEN_SIGNALS, KPIS)
